/** An error whose message is written for people, shown as is (and not logged as a bug). */
export class UserError extends Error {
  override name = "UserError";
}
