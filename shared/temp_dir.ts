/**
 * A test's scratch folder, gone when the test ends, passed or failed (the integration tests'
 * tests/network_test_support.ts inTempDir keeps a failed network's logs instead).
 *
 * @module
 */

/** Runs `test` in a new temporary folder and removes the folder after it, whatever happened. */
export async function withTempDir<T>(test: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
