/** An error whose message is written for people, shown as is (and not logged as a bug). */
export class UserError extends Error {
  override name = "UserError";
}

/** HTTP 401: a missing or wrong passcode (or no sign-on); the message is the server's. */
export class AuthError extends UserError {
  override name = "AuthError";
}
