// The contract's error codes (CONTRACT section 5) as messages a person can act on.

import { formatDuration } from "./dom.js";

export class ApiError extends Error {
  constructor({ code, message, extensions = {} }) {
    super(message || code);
    this.code = code;
    this.serverMessage = message;
    this.extensions = extensions;
  }

  get field() {
    return this.extensions.field || null;
  }

  get retryAfter() {
    const value = Number(this.extensions.retryAfter);
    return Number.isFinite(value) && value > 0 ? Math.ceil(value) : null;
  }
}

export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return "Cannot reach the server. Check your connection and try again.";
  }
  const extensions = error.extensions;
  switch (error.code) {
    case "INVALID_CREDENTIALS":
      return "Enter a correct email and password.";
    case "INVALID_CODE": {
      const left = extensions.attemptsLeft;
      if (left === undefined || left === null) return "The code is not correct. Enter the current code.";
      if (left === 0) return "The code is not correct. That was the last attempt: wait a little before you try again.";
      return `The code is not correct. ${left} attempt${left === 1 ? "" : "s"} left before the code step is locked.`;
    }
    case "TOO_MANY_ATTEMPTS":
      if (error.retryAfter === null) {
        return "Too many wrong codes: an administrator must reset your two-factor authentication.";
      }
      return `Too many attempts. Try again in ${formatDuration(error.retryAfter)}.`;
    case "UNAUTHENTICATED":
      return "Your session has expired. Sign in again.";
    case "FORBIDDEN":
      return "You do not have permission to do this.";
    case "NOT_FOUND":
      return "Not found: it may have been removed. Reload the page.";
    case "BAD_USER_INPUT":
      return error.serverMessage || "Check what you entered.";
    case "TWO_FACTOR_NOT_AVAILABLE":
      return "Two-Factor Authentication not available";
    case "TWO_FACTOR_REQUIRED":
      return "Complete two-factor authentication first.";
    case "JOB_CONFLICT":
      return "Another bulk job is already running for this domain. Wait for it to finish or cancel it.";
    case "QUEUE_UNAVAILABLE":
      return "The job queue is unavailable. Try again in a few minutes.";
    case "SERVICE_UNAVAILABLE":
      return "The service is temporarily unavailable. Try again in a moment.";
    default: {
      const reference = extensions.requestId ? ` Reference: ${extensions.requestId}.` : "";
      return `Something went wrong. Try again.${reference}`;
    }
  }
}
