// A small graphql-transport-ws client (the protocol of graphql-ws): one socket per
// subscription, authenticated by the session cookie (same origin).

import { loadDocument, reportError } from "./api.js";
import { ApiError } from "./errors.js";

const PROTOCOL = "graphql-transport-ws";

export async function subscribe(name, variables, { next, error, complete }) {
  const query = await loadDocument(name);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/graphql`, PROTOCOL);
  const id = "1";
  let finished = false;
  const finish = (callback, value) => {
    if (finished) return;
    finished = true;
    if (socket.readyState === WebSocket.OPEN) socket.close(1000, "done");
    if (callback) callback(value);
  };
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "connection_ack") {
      socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
    } else if (message.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    } else if (message.type === "next" && message.id === id) {
      const errors = message.payload.errors;
      if (errors && errors.length) {
        const extensions = errors[0].extensions || {};
        finish(error, reportError(new ApiError({ code: extensions.code, message: errors[0].message, extensions })));
      } else {
        next(message.payload.data);
      }
    } else if (message.type === "error" && message.id === id) {
      const first = (message.payload && message.payload[0]) || {};
      const extensions = first.extensions || {};
      finish(error, reportError(new ApiError({ code: extensions.code, message: first.message, extensions })));
    } else if (message.type === "complete" && message.id === id) {
      finish(complete);
    }
  });
  socket.addEventListener("close", (event) => {
    if (!finished) finish(error, new TypeError(`closed ${event.code}`));
  });
  return () => {
    if (finished) return;
    finished = true;
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ id, type: "complete" }));
      socket.close(1000, "unsubscribed");
    } else {
      socket.close();
    }
  };
}
