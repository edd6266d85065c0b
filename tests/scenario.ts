/**
 * A test that walks one scenario through named steps, each starting where the one before left
 * the system: each step a `t.step` of its own, so a failure names the behaviour that broke.
 *
 * @module
 */

/** One step of a scenario: what it shows, and the function that shows it on the shared `W`. */
export type ScenarioStep<W> = readonly [
  name: string,
  run: (world: W) => void | Promise<void>,
];

/**
 * Runs `steps` in order on `world` and stops at the first that fails (the ones after it would
 * start from a state it did not leave). The steps do not check ops and resources on their own:
 * the services the scenario shares keep working between them. The test around them does, after
 * the scenario has closed everything.
 */
export async function runScenario<W>(
  t: Deno.TestContext,
  world: W,
  steps: readonly ScenarioStep<W>[],
): Promise<void> {
  for (const [name, run] of steps) {
    const passed = await t.step({
      name,
      fn: () => run(world),
      sanitizeOps: false,
      sanitizeResources: false,
    });
    if (!passed) throw new Error(`the step "${name}" failed`);
  }
}
