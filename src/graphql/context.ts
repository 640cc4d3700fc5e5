import type { YogaInitialContext } from "graphql-yoga";
import type { Viewer } from "../auth/users.js";
import type { Services } from "../services.js";

export type { Viewer };

/** What the server adds to yoga's own context for every request. */
export interface AppContext {
  viewer: Viewer | null;
  services: Services;
}

export type Context = YogaInitialContext & AppContext;
