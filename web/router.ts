/**
 * The page shown, following the location hash (web/route.ts): a link or the back button moves
 * it, and each page change starts at the top of the page.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { parseRoute, type Route } from "./route.ts";

/** The page the location hash names. */
export const route = signal<Route>(parseRoute(location.hash));

addEventListener("hashchange", () => {
  route.value = parseRoute(location.hash);
  scrollTo(0, 0);
});
