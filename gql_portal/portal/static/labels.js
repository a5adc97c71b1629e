// Words for the API's enum values, as the help page and the screens use them.

export const TWO_FACTOR_STATE = {
  NOT_AVAILABLE: "Two-Factor Authentication not available",
  DISABLED: "Off",
  PENDING_ENROLLMENT: "On, waiting for set-up",
  ENROLLED: "On",
};

export const ROLE = {
  USER: "User",
  SECURITY_ADMIN: "Security Administrator",
  SYSTEM_ADMIN: "System Administrator",
  AUDITOR: "Auditor",
};

export const JOB_STATUS = {
  QUEUED: "Waiting to start",
  RUNNING: "Running",
  SUCCEEDED: "Finished",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

export const NOTIFICATION_STATUS = {
  QUEUED: "Waiting to be sent",
  SENT: "Sent",
  FAILED: "Failed",
};

// The messages of CONTRACT section 11, in the words of their subjects.
export const NOTIFICATION_KIND = {
  TWO_FACTOR_ENABLED: "2FA turned on for the user",
  ENROLLMENT_REMINDER: "Set-up deadline reminder",
  AUTHENTICATOR_ADDED: "Authenticator app added",
  TWO_FACTOR_DISABLED: "2FA turned off by an administrator",
  TWO_FACTOR_RESET: "2FA reset by an administrator",
  RECOVERY_CODE_USED: "Recovery code used",
  RECOVERY_CODES_REGENERATED: "New recovery codes",
  CODE_STEP_LOCKED: "Too many wrong codes",
  PASSWORD_CHANGED: "Password changed",
  ACCOUNT_DEACTIVATED: "Account deactivated",
  JOB_FINISHED: "Bulk job or import finished",
  INVITATION: "Invitation",
  PASSWORD_RESET: "Password reset link",
};

export function roleList(roles) {
  return roles.map((role) => ROLE[role] || role).join(", ");
}

// LOGIN_SUCCEEDED -> "Login succeeded"
export function actionLabel(action) {
  const words = action.toLowerCase().replace(/_/g, " ").replace("totp", "TOTP").replace("scim", "SCIM");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// The audit log's actions (tests/portal/test_documents.py checks each is in schema.graphql).
export const AUDIT_ACTIONS = [
  "LOGIN_SUCCEEDED",
  "LOGIN_FAILED",
  "LOGOUT",
  "DOMAIN_TWO_FACTOR_ENABLED",
  "DOMAIN_TWO_FACTOR_DISABLED",
  "PASSWORD_RULES_UPDATED",
  "USER_CREATED",
  "USER_UPDATED",
  "USER_DEACTIVATED",
  "USER_REACTIVATED",
  "USER_LOGIN_UNLOCKED",
  "USER_TWO_FACTOR_ENABLED",
  "USER_TWO_FACTOR_DISABLED",
  "USER_TWO_FACTOR_RESET",
  "TOTP_ENROLLMENT_STARTED",
  "TOTP_ENROLLED",
  "TOTP_VERIFIED",
  "TOTP_VERIFICATION_FAILED",
  "TOTP_LOCKED_OUT",
  "RECOVERY_CODE_USED",
  "RECOVERY_CODES_REGENERATED",
  "PASSWORD_CHANGED",
  "SESSION_REVOKED",
  "BULK_JOB_STARTED",
  "BULK_JOB_FINISHED",
  "BULK_JOB_CANCELLED",
  "SCIM_TOKEN_CREATED",
  "SCIM_TOKEN_REVOKED",
  "ACCESS_DENIED",
];
