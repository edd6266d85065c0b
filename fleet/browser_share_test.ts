import assert from "node:assert/strict";
import { defineConfig, parseConfig } from "../shared/config.ts";
import {
  autogroupNice,
  browserNiceOption,
  browserNiceProblem,
  schedulingFacts,
  setAutogroupNice,
} from "./browser_share.ts";

const spec = defineConfig({
  name: "bench:dashboard",
  summary: "test",
  options: { browserNice: browserNiceOption },
});
const parse = (...args: string[]) => parseConfig(spec, args, {}).browserNice;

Deno.test("--browser-nice: an integer -20–19, a negative one after =, none by default", () => {
  assert.equal(parse(), undefined);
  assert.equal(parse("--browser-nice=-10"), -10);
  assert.equal(parse("--browser-nice", "5"), 5);
  assert.equal(parse("--browser-nice=-20"), -20);
  assert.equal(parse("--browser-nice", "19"), 19);
  for (const bad of ["20", "-21", "1.5", "x", ""]) {
    assert.throws(
      () => parse(`--browser-nice=${bad}`),
      /--browser-nice: expected an integer -20–19/,
    );
  }
  assert.throws(
    () => parse("--browser-nice", "-10"),
    /--browser-nice needs a value \(one that starts with "-" is written --browser-nice=-1\)/,
  );
});

Deno.test("--browser-nice: refused without autogroups, and a negative one without root", () => {
  const everything = { autogroups: true, root: true };
  assert.equal(browserNiceProblem(-10, everything), undefined);
  assert.equal(browserNiceProblem(5, { autogroups: true, root: false }), undefined);
  assert.match(
    browserNiceProblem(-10, { autogroups: true, root: false }) ?? "",
    /--browser-nice=-10 raises a priority, which needs root/,
  );
  assert.match(
    browserNiceProblem(5, { autogroups: false, root: true }) ?? "",
    /needs the kernel's autogroup scheduling/,
  );
});

Deno.test("autogroupNice reads the nice of a /proc/<pid>/autogroup line", () => {
  assert.equal(autogroupNice("/autogroup-1500 nice -10\n"), -10);
  assert.equal(autogroupNice("/autogroup-7 nice 0"), 0);
  assert.throws(() => autogroupNice("nonsense"), /not an autogroup line/);
});

const facts = await schedulingFacts();

Deno.test({
  name: "setAutogroupNice sets the nice of a process's own session and reads it back",
  ignore: !facts.autogroups,
  async fn() {
    // A child in a session of its own, as playwright starts Chromium; a positive nice needs no root.
    const child = new Deno.Command("sleep", { args: ["60"], detached: true }).spawn();
    try {
      const group = (pid: number | "self") =>
        Deno.readTextFile(`/proc/${pid}/autogroup`).then((t) => t.split(" ")[0]);
      assert.notEqual(await group(child.pid), await group("self"), "the child's own session");
      await setAutogroupNice(child.pid, 5);
      assert.equal(autogroupNice(await Deno.readTextFile(`/proc/${child.pid}/autogroup`)), 5);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});
