import assert from "node:assert/strict";
import { cpHref, parseRoute, type Route, routeHref } from "./route.ts";

Deno.test("route: each page's hash names it, and back", () => {
  const pages: Route[] = [
    { page: "overview" },
    { page: "history", query: "" },
    { page: "history", query: "cp=CP-001&limit=2" },
    { page: "alarms" },
    { page: "cp", id: "CP-001" },
    { page: "cp", id: "CP 7/ñ" },
  ];
  for (const route of pages) assert.deepEqual(parseRoute(routeHref(route)), route);
  assert.equal(cpHref("CP-001"), "#/cp/CP-001");
});

Deno.test("route: an empty, unknown or malformed hash is the overview", () => {
  for (const hash of ["", "#", "#/", "#/nowhere", "#/cp/", "#/cp/%E0%A4%A", "#/cp/%20"]) {
    assert.deepEqual(parseRoute(hash), { page: "overview" }, hash);
  }
});
