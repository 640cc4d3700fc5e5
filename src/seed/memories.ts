// OpenMemory's family: apps, categories, memories in all four states with
// their category links and a status history that leads to the final state,
// and app access rules.

import type { Random } from "./random.js";
import { SPAN_MS, at, type SeedContext, type SeedRow } from "./plan.js";

type State = "active" | "paused" | "archived" | "deleted";

const APPS: [string, string][] = [
  ["cursor", "AI code editor"],
  ["claude", "Claude desktop"],
  ["openmemory", "OpenMemory dashboard"],
  ["windsurf", "Windsurf IDE"],
  ["chatgpt", "ChatGPT connector"],
  ["vscode", "VS Code extension"],
  ["raycast", "Raycast AI commands"],
  ["obsidian", "Obsidian vault sync"],
  ["slack", "Slack assistant"],
  ["notion", "Notion AI"],
  ["zed", "Zed editor"],
  ["warp", "Warp terminal"],
];

const CATEGORIES = [
  "work", "travel", "personal", "health", "finance", "café notes", "hobbies", "family", "food", "fitness",
  "learning", "music", "projects", "shopping", "reading", "meetings", "preferences", "home", "career", "ideas",
];

const PEOPLE = ["Alice", "Bob", "Carol", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Keiko", "Lena", "Mateo", "Noor", "Olu", "Priya"];
const PLACES = ["Lisbon", "Kyoto", "Berlin", "Nairobi", "Montréal", "São Paulo", "Reykjavík", "Oaxaca", "Seoul", "Tbilisi", "Porto", "Hanoi"];
const FOODS = ["oat-milk flat whites", "spicy ramen", "sourdough", "green tea", "dark chocolate", "falafel wraps", "pho", "espresso", "kimchi"];
const TOOLS = ["TypeScript", "Rust", "PostgreSQL", "SQLite", "Prisma", "GraphQL", "vim", "tmux", "Docker", "Python", "Go"];
const PROJECTS = ["billing revamp", "Q3 roadmap", "mobile app", "data pipeline", "onboarding flow", "search service", "design system", "API v2"];
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

const TEMPLATES: ((r: Random) => string)[] = [
  (r) => `Prefers ${r.pick(FOODS)} in the morning`,
  (r) => `Meeting with ${r.pick(PEOPLE)} about the ${r.pick(PROJECTS)} every ${r.pick(DAYS)}`,
  (r) => `Is planning a trip to ${r.pick(PLACES)} in ${r.int(2024, 2026)}`,
  (r) => `Uses ${r.pick(TOOLS)} and ${r.pick(TOOLS)} for most side projects`,
  (r) => `${r.pick(PEOPLE)} is the point of contact for the ${r.pick(PROJECTS)}`,
  (r) => `Allergic to ${r.pick(["peanuts", "shellfish", "pollen", "cats", "penicillin"])}`,
  (r) => `Runs ${r.int(3, 21)} km on ${r.pick(DAYS)}s`,
  (r) => `Wants code reviews to focus on ${r.pick(["naming", "tests", "error handling", "performance", "readability"])}`,
  (r) => `Birthday of ${r.pick(PEOPLE)} is on ${r.int(1, 28)} ${r.pick(["March", "June", "September", "December"])}`,
  (r) => `Budget for ${r.pick(["groceries", "rent", "travel", "books"])} is ${r.int(50, 900)} € per month`,
  (r) => `Reading "${r.pick(["The Pragmatic Programmer", "Dune", "Thinking, Fast and Slow", "Piranesi", "SICP"])}", at chapter ${r.int(1, 20)}`,
  (r) => `Decided to migrate the ${r.pick(PROJECTS)} from ${r.pick(TOOLS)} to ${r.pick(TOOLS)}`,
  (r) => `Likes working from the café near ${r.pick(PLACES)} station ☕`,
  (r) => `Notes from the ${r.pick(PROJECTS)} sync:\n- ${r.pick(PEOPLE)} owns the rollout\n- deadline is ${r.pick(DAYS)}\n- open question: ${r.pick(TOOLS)} version`,
  (r) => `Learning Japanese: 今日は${r.pick(["いい天気", "雨", "忙しい日"])}ですね (${r.int(1, 300)} days streak)`,
  (r) => `Shared a flat in ${r.pick(PLACES)} with ${r.pick(PEOPLE)} 🏠`,
  (r) => `Prefers tabs over spaces in ${r.pick(TOOLS)} projects`,
  (r) => `Doctor appointment on ${r.pick(DAYS)} at ${r.int(8, 17)}:${r.pick(["00", "15", "30", "45"])}`,
];

function content(r: Random): string {
  let text = r.pick(TEMPLATES)(r);
  if (r.chance(0.15)) text += `. ${r.pick(TEMPLATES)(r)}`;
  return text;
}

function embedding(r: Random): Buffer {
  const v = new Float32Array(32);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = r.next() * 2 - 1;
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return Buffer.from(v.buffer);
}

/** The status changes that end in `state`, oldest first (`from` -> `to`). */
function story(r: Random, state: State): [State, State][] {
  const steps: [State, State][] = [];
  // OpenMemory records a memory's creation as deleted -> active
  if (r.chance(0.1)) steps.push(["deleted", "active"]);
  switch (state) {
    case "active":
      if (r.chance(0.12)) steps.push(["active", "paused"], ["paused", "active"]);
      break;
    case "paused":
      steps.push(["active", "paused"]);
      if (r.chance(0.3)) steps.push(["paused", "active"], ["active", "paused"]);
      break;
    case "archived":
      if (r.chance(0.2)) steps.push(["active", "paused"], ["paused", "archived"]);
      else steps.push(["active", "archived"]);
      break;
    case "deleted":
      if (r.chance(0.3)) steps.push(["active", "archived"], ["archived", "deleted"]);
      else steps.push(["active", "deleted"]);
      break;
  }
  return steps;
}

const STATES: Record<State, number> = { active: 70, paused: 10, archived: 12, deleted: 8 };
const CATEGORY_COUNT = { "0": 15, "1": 50, "2": 22, "3": 13 };
const DAY = 86_400_000;

export function* memoryRows(ctx: SeedContext): Generator<SeedRow> {
  const { ids, plan, ownerId } = ctx;
  const r = ctx.random("memories");

  for (let a = 0; a < plan.apps; a++) {
    const [name, description] = APPS[a % APPS.length];
    const createdMs = r.next() * DAY * 30;
    yield [
      "App",
      {
        id: ids.id("app", a),
        ownerId,
        name: a < APPS.length ? name : `${name}-${Math.floor(a / APPS.length) + 1}`,
        description,
        metadata: a % 3 === 2 ? undefined : { vendor: name, version: `${r.int(0, 4)}.${r.int(0, 20)}.${r.int(0, 9)}`, scopes: r.sample(["read", "write", "search", "delete"], r.int(1, 4)) },
        isActive: a !== 1, // one paused app, like OpenMemory's fixtures
        createdAt: at(createdMs),
        updatedAt: at(createdMs + r.next() * DAY * 60),
      },
    ];
  }

  for (let c = 0; c < plan.categories; c++) {
    const name = c < CATEGORIES.length ? CATEGORIES[c] : `${CATEGORIES[c % CATEGORIES.length]} ${Math.floor(c / CATEGORIES.length) + 1}`;
    const created = at(r.next() * DAY * 30);
    yield [
      "Category",
      { id: ids.id("category", c), ownerId, name, description: c === 5 ? undefined : `Memories about ${name}`, createdAt: created, updatedAt: created },
    ];
  }

  const stateNames = Object.keys(STATES) as State[];
  const categoryIndexes = Array.from({ length: plan.categories }, (_, i) => i);
  for (let m = 0; m < plan.memories; m++) {
    const memoryId = ids.id("memory", m);
    // the first four show every state whatever the scale
    const state: State = m < stateNames.length ? stateNames[m] : r.weighted(STATES);
    // roughly chronological; every change happens within 4 x 15 days, so nothing runs past the span
    const createdMs = ((m + r.next()) / plan.memories) * SPAN_MS * 0.9;
    const app = r.int(0, plan.apps - 1);
    const steps = story(r, state);
    let t = createdMs;
    let archivedAt: Date | undefined;
    let deletedAt: Date | undefined;
    const statuses: SeedRow[] = steps.map(([oldState, newState], k) => {
      if (!(k === 0 && oldState === "deleted")) t += r.int(60_000, 15 * DAY);
      if (newState === "archived") archivedAt = at(t);
      if (newState === "deleted") deletedAt = at(t);
      return [
        "MemoryStatus",
        { id: ids.id("memoryStatus", m * 8 + k), ownerId, memoryId, changedById: ownerId, oldState, newState, changedAt: at(t) },
      ];
    });
    yield [
      "Memory",
      {
        id: memoryId,
        ownerId,
        appId: ids.id("app", app),
        content: content(r),
        metadata: r.chance(0.15) ? undefined : { source_app: APPS[app % APPS.length][0], tags: r.sample(["todo", "important", "idea", "follow-up", "personal"], r.int(0, 2)), confidence: r.float(0.5, 1, 2) },
        state,
        embedding: r.chance(0.25) ? embedding(r) : undefined,
        createdAt: at(createdMs),
        updatedAt: at(t),
        archivedAt,
        deletedAt,
      },
    ];
    const k = Number(r.weighted(CATEGORY_COUNT));
    for (const [j, c] of r.sample(categoryIndexes, k).entries()) {
      yield ["MemoryCategory", { id: ids.id("memoryCategory", m * 4 + j), ownerId, memoryId, categoryId: ids.id("category", c) }];
    }
    yield* statuses;
  }

  for (let a = 0; a < plan.accessControls; a++) {
    yield [
      "AccessControl",
      {
        id: ids.id("accessControl", a),
        ownerId,
        subjectType: "app",
        subjectId: ids.id("app", r.int(0, plan.apps - 1)),
        objectType: "memory",
        // the first two show both a rule for every memory and one for a memory
        objectId: a === 0 || (a > 1 && r.chance(0.2)) ? null : ids.id("memory", r.int(0, plan.memories - 1)),
        effect: a === 1 || (a > 1 && r.chance(0.25)) ? "deny" : "allow",
        createdAt: at(r.next() * SPAN_MS),
      },
    ];
  }
}
