/** An error whose message is written for people, shown as is (and not logged as a bug). */
export class UserError extends Error {
  override name = "UserError";
}

/** The server refused the passcode (HTTP 401); the message is the server's. */
export class PasscodeError extends UserError {
  override name = "PasscodeError";
}
