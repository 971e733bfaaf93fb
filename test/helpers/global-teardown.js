/** Stops the embedded PostgreSQL of the run, if the global set-up started one. */
export default async function globalTeardown() {
  await globalThis.testDatabase?.stop();
}
