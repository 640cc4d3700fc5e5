// Each domain module registers its types on the builder when imported.
import "./scalars.js";
import "./errors.js";
import "./viewer.js";
import "./exports.js";
import "./imports.js";
import "./uploads.js";
import "./memories.js";
import "./personas.js";
import "./world.js";
import "./videos.js";
import "./annotations.js";
import { builder } from "../builder.js";

export const schema = builder.toSchema({ sortSchema: true });
