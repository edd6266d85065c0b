/**
 * The dashboard's pages, one per location hash: `#/` the overview (headline figures, network
 * chart, CP grid…), `#/history` the session history (`#/history?cp=…`: filtered), `#/alarms` the alarms, `#/cp/<id>` one
 * CP's page. A hash route keeps every page a plain link (keyboard, back button, bookmark) with
 * one page served by Central. Pure: no DOM.
 *
 * @module
 */

/** A page of the dashboard. */
export type Route =
  | { readonly page: "overview" }
  | { readonly page: "history"; readonly query?: string }
  | { readonly page: "alarms" }
  | { readonly page: "cp"; readonly id: string };

/** The page a location hash names; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/^\/+/, "");
  const history = /^history(?:\?(.*))?$/.exec(path);
  if (history) return { page: "history", query: history[1] ?? "" };
  if (path === "alarms") return { page: "alarms" };
  const cp = /^cp\/(.+)$/.exec(path);
  if (cp) {
    try {
      const id = decodeURIComponent(cp[1]);
      if (id.trim() !== "") return { page: "cp", id };
    } catch {
      // A malformed escape names no CP: the overview.
    }
  }
  return { page: "overview" };
}

/** The hash (an `href`) of a page. */
export function routeHref(route: Route): string {
  return route.page === "overview"
    ? "#/"
    : route.page === "cp"
    ? `#/cp/${encodeURIComponent(route.id)}`
    : route.page === "history" && route.query
    ? `#/history?${route.query}`
    : `#/${route.page}`;
}

/** The href of a CP's page. */
export const cpHref = (id: string): string => routeHref({ page: "cp", id });
