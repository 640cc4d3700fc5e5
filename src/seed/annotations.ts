// FOVEA's family: personas with one ontology each, world objects, videos
// (metadata only), summaries per video and persona with trees of claims and
// claim relations, and keyframed bounding-box annotations. Shapes follow
// ../shared/fixtures/fovea/FORMAT-FACTS.md §4-§6.

import type { Random } from "./random.js";
import { SPAN_MS, at, type SeedContext, type SeedRow } from "./plan.js";

// ---------------------------------------------------------------- vocabulary

const PERSONAS: [string, string, string][] = [
  ["Automated", "Analyst", "Understanding the content and events in this video."],
  ["Wildfire Researcher", "Scientist", "How fires start, spread and are contained near roads and homes."],
  ["Traffic Safety Officer", "Public official", "Collisions, near misses and unsafe driving on freeways."],
  ["Citizen Journalist", "Reporter", "Who filmed what, when and where, and whether claims can be verified."],
  ["Sports Analyst", "Coach", "Tactics, player movements and turning points of a match."],
  ["Robotics Engineer", "Engineer", "How humanoid robots move, fall and recover in races."],
  ["Urban Planner", "Planner", "How people use streets, crossings and public squares."],
  ["Wildlife Biologist", "Scientist", "Animal behaviour and species counts in field footage."],
  ["Security Analyst", "Investigator", "Unusual activity, access to restricted areas and timelines."],
  ["Fact Checker", "Editor", "Whether the narration matches what the footage shows."],
  ["Construction Manager", "Site lead", "Progress, equipment use and safety on building sites."],
  ["Music Producer", "Producer", "Instruments, performers and crowd reactions at concerts."],
  ["Emergency Dispatcher", "Operator", "Where responders are needed and how fast they arrive."],
  ["Insurance Adjuster", "Assessor", "Damage to vehicles and property and its likely cause."],
  ["Film Archivist", "Archivist", "Provenance, dates and people appearing in historic footage."],
  ["Drone Pilot", "Operator", "Flight paths, altitude and obstacles in aerial footage."],
];

// name, gloss, wikidata id
const ENTITY_TYPES: [string, string, string][] = [
  ["person", "human being", "Q5"],
  ["car", "motor vehicle with four wheels used for transporting passengers", "Q1420"],
  ["firefighter", "rescuer trained to extinguish hazardous fires", "Q107711"],
  ["humanoid robot", "robot with its body shape built to resemble that of the human body", "Q584529"],
  ["building", "structure, typically with a roof and walls, standing more or less permanently in one place", "Q41176"],
  ["loudspeaker", "electroacoustic transducer that converts an electrical audio signal into a corresponding sound", "Q570"],
  ["construction worker", "person employed in the physical work during construction", "Q811122"],
  ["dust cloud", "visible mass of dust particles suspended in the air", "Q135615808"],
  ["citizen journalist", "member of the public collecting and reporting news and information", "Q90845273"],
  ["helicopter", "type of rotorcraft", "Q34486"],
  ["dog", "domestic animal", "Q144"],
  ["drone", "aircraft without a human pilot aboard", "Q484000"],
  ["tree", "perennial woody plant", "Q10884"],
  ["fire truck", "vehicle designed for firefighting operations", "Q208281"],
];

const EVENT_TYPES: [string, string, string][] = [
  ["wildfire", "uncontrolled fire spreading over vegetation", "Q169950"],
  ["collision", "instance of two or more bodies exerting forces on each other", "Q2164497"],
  ["race", "competitive event in which participants attempt to complete objectives as fast as possible", "Q22938576"],
  ["gunshot", "discharge of a firearm", "Q2992372"],
  ["rescue", "operation to save someone from danger", "Q14928"],
  ["interview", "structured conversation where one participant asks questions", "Q178651"],
  ["protest", "public expression of objection", "Q273120"],
  ["concert", "live performance of music before an audience", "Q182832"],
];

const ROLE_TYPES: [string, string, string][] = [
  ["participant", "person or object that takes part in an event or process", "Q56512863"],
  ["agent", "entity that performs an action", "Q24229398"],
  ["patient", "entity undergoing the effect of an action", "Q170212"],
  ["witness", "someone who sees an event happen", "Q1056396"],
  ["event organizer", "person or organization that plans an event", "Q779817"],
  ["instrument", "object used to carry out an action", "Q39546"],
];

const RELATION_TYPES: [string, string, string[], string[], boolean][] = [
  ["located in", "is situated inside", ["entity", "event"], ["entity"], false],
  ["part of", "is a component of", ["entity", "event"], ["entity", "event"], false],
  ["causes", "brings about", ["event"], ["event"], false],
  ["precedes", "happens before", ["event", "time"], ["event", "time"], false],
  ["supports", "gives evidence for", ["claim"], ["claim"], false],
  ["contradicts", "is incompatible with", ["claim"], ["claim"], true],
  ["near", "is close to", ["entity"], ["entity"], true],
];

const ADJECTIVES = ["red", "white", "silver", "burning", "parked", "masked", "tall", "small", "damaged", "yellow", "distant", "blue"];
const NOUNS = ["hatchback", "pickup truck", "firefighter", "robot", "news van", "helicopter", "drone", "building", "crowd", "camera operator", "dog", "tree line"];
const PLACES = ["Sepulveda Pass", "Getty Center", "Interstate 405", "Beijing E-Town", "Brentwood", "Pacific Palisades", "Marina del Rey", "Griffith Park", "Malibu Creek", "Echo Park", "Venice Beach", "Topanga Canyon"];
const VIDEO_TITLES = ["Brush fire near the freeway", "Humanoid robot half-marathon", "Street interview downtown", "Drone flyover of the burn area", "Dashcam collision footage", "Rescue on the canyon road", "Crowd at the open-air concert", "Construction site timelapse", "Protest march on Main Street", "Wildlife crossing at night"];
const FPS = [24, 25, 29.97, 30, 60];
const SIZES: [number, number][] = [[1920, 1080], [1280, 720], [3840, 2160], [720, 1280]];
const INTERPOLATION = { linear: 55, bezier: 10, "ease-in": 5, "ease-out": 5, "ease-in-out": 12, hold: 8, parametric: 5 };
const TRACKING = ["manual", "samurai", "sam2long", "sam2", "yolo11seg"];

// ---------------------------------------------------------------- gloss

type Gloss = Record<string, unknown>[];
type ObjectKind = "entity" | "event" | "time" | "location";
type TypeCategory = "entity" | "event" | "role" | "relation";

const text = (content: string) => ({ type: "text", content });
const objectRef = (kind: ObjectKind, id: string) => ({ type: "objectRef", content: id, refType: `${kind}-object` });
const typeRef = (t: TypeDef) => ({ type: "typeRef", content: t.id, refType: t.category, refPersonaId: t.personaId });
const claimRef = (id: string) => ({ type: "claimRef", content: id, refType: "claim", refClaimId: id });
const annotationRef = (id: string) => ({ type: "annotationRef", content: id, refType: "annotation" });
/** the claim's `text`: the gloss flattened, references as raw ids */
const flatten = (g: Gloss) => g.map((i) => String(i.content)).join("");

interface TypeDef {
  id: string;
  name: string;
  category: TypeCategory;
  personaId: string;
}

interface Ontology {
  entity: TypeDef[];
  event: TypeDef[];
  role: TypeDef[];
  relation: TypeDef[];
}

const iso = (d: Date) => d.toISOString();

export function* annotationRows(ctx: SeedContext): Generator<SeedRow> {
  const { ids, plan, ownerId } = ctx;
  const P = plan.personas;
  const personaId = (p: number) => ids.id("persona", p);
  const obj = {
    entity: (j: number) => ids.id("worldEntity", j),
    location: (j: number) => ids.id("worldLocation", j),
    event: (j: number) => ids.id("worldEvent", j),
    time: (j: number) => ids.id("worldTime", j),
  };
  const count: Record<ObjectKind, number> = {
    entity: plan.worldEntities,
    location: plan.worldLocations,
    event: plan.worldEvents,
    time: plan.worldTimes,
  };
  const anyObject = (r: Random, kind: ObjectKind) => obj[kind](r.int(0, count[kind] - 1));

  // ---- personas and their ontologies: type ids first, so glosses can point across personas
  const r = ctx.random("personas");
  const ontologies: Ontology[] = [];
  for (let p = 0; p < P; p++) {
    const pid = personaId(p);
    const pickTypes = (category: TypeCategory, names: string[], min: number, max: number) =>
      // the first persona has every type, so each category is well populated at any scale
      (p === 0 ? names : r.sample(names, r.int(min, max))).map((name, k) => ({ id: ids.id(`${category}Type`, p * 100 + k), name, category, personaId: pid }));
    ontologies.push({
      entity: pickTypes("entity", ENTITY_TYPES.map((t) => t[0]), 5, 9),
      event: pickTypes("event", EVENT_TYPES.map((t) => t[0]), 3, 5),
      role: pickTypes("role", ROLE_TYPES.map((t) => t[0]), 3, 5),
      relation: pickTypes("relation", RELATION_TYPES.map((t) => t[0]), 4, 6),
    });
  }
  const anyType = (r: Random, category: TypeCategory, p = r.int(0, P - 1)) => r.pick(ontologies[p][category]);

  for (let p = 0; p < P; p++) {
    const [name, role, informationNeed] = PERSONAS[p % PERSONAS.length];
    const createdMs = r.next() * 86_400_000 * 20;
    yield [
      "Persona",
      {
        id: personaId(p),
        ownerId,
        name: p < PERSONAS.length ? name : `${name} ${Math.floor(p / PERSONAS.length) + 1}`,
        role,
        informationNeed,
        details: p % 2 === 1 ? `Created for the ${name.toLowerCase()} workflow.` : undefined,
        createdAt: at(createdMs),
        updatedAt: at(createdMs + r.next() * 86_400_000 * 60),
      },
    ];
  }

  // every kind of object reference appears in the first ontology's glosses
  const refKinds: ObjectKind[] = ["entity", "event", "time", "location"];
  for (let p = 0; p < P; p++) {
    const o = ontologies[p];
    const createdMs = r.next() * 86_400_000 * 20;
    const stamp = { createdAt: iso(at(createdMs)), updatedAt: iso(at(createdMs + 3_600_000)) };
    let refTurn = 0;
    const describe = (t: TypeDef, definition: string): Gloss => {
      const g: Gloss = [text(definition)];
      if (p === 0 ? refTurn < refKinds.length : r.chance(0.4)) {
        const kind = p === 0 ? refKinds[refTurn++] : r.pick(refKinds);
        g.push(text(", e.g. "), objectRef(kind, anyObject(r, kind)));
      }
      if (r.chance(0.3) || (p === 0 && t.category === "relation")) {
        // a type of this or of another persona's ontology
        g.push(text("; compare "), typeRef(anyType(r, r.pick(["entity", "event", "role", "relation"] as const))));
      }
      return g;
    };
    const wikidata = (qid: string) =>
      r.chance(0.7) ? { wikidataId: qid, wikidataUrl: `https://www.wikidata.org/wiki/${qid}`, importedFrom: "wikidata", importedAt: stamp.createdAt } : {};
    const find = <T extends [string, ...unknown[]]>(list: T[], name: string) => list.find((x) => x[0] === name)!;
    yield [
      "Ontology",
      {
        id: ids.id("ontology", p),
        ownerId,
        personaId: personaId(p),
        entityTypes: o.entity.map((t) => {
          const [, gloss, qid] = find(ENTITY_TYPES, t.name);
          return { id: t.id, name: t.name, gloss: describe(t, gloss), examples: [], ...wikidata(qid), ...stamp };
        }),
        eventTypes: o.event.map((t, k) => {
          const [, gloss, qid] = find(EVENT_TYPES, t.name);
          return {
            id: t.id,
            name: t.name,
            gloss: describe(t, gloss),
            roles: r.sample(o.role, r.int(1, Math.min(3, o.role.length))).map((role, i) => ({ roleTypeId: role.id, optional: i > 0 })),
            ...(k > 0 && r.chance(0.2) ? { parentEventId: o.event[0].id } : {}),
            examples: [],
            ...wikidata(qid),
            ...stamp,
          };
        }),
        roleTypes: o.role.map((t) => {
          const [, gloss, qid] = find(ROLE_TYPES, t.name);
          return { id: t.id, name: t.name, gloss: describe(t, gloss), allowedFillerTypes: ["entity"], examples: [], ...wikidata(qid), ...stamp };
        }),
        relationTypes: o.relation.map((t) => {
          const [, gloss, sourceTypes, targetTypes, symmetric] = find(RELATION_TYPES, t.name);
          return { id: t.id, name: t.name, gloss: describe(t, gloss), sourceTypes, targetTypes, symmetric, transitive: t.name === "part of", examples: [], ...stamp };
        }),
        relations: [],
        createdAt: at(createdMs),
        updatedAt: at(createdMs + 3_600_000),
      },
    ];
  }

  // ---- videos (metadata only); their frame counts place the boxes
  const rv = ctx.random("videos");
  const frames: number[] = [];
  const sizes: [number, number][] = [];
  for (let v = 0; v < plan.videos; v++) {
    const durationMs = rv.int(10, 600) * 1000 + rv.int(0, 999);
    const fps = rv.pick(FPS);
    const [width, height] = rv.pick(SIZES);
    frames.push(Math.floor((durationMs / 1000) * fps));
    sizes.push([width, height]);
    const title = `${VIDEO_TITLES[v % VIDEO_TITLES.length]}${v >= VIDEO_TITLES.length ? ` (part ${Math.floor(v / VIDEO_TITLES.length) + 1})` : ""}`;
    const createdMs = rv.next() * SPAN_MS * 0.8;
    yield [
      "Video",
      {
        id: ids.id("video", v),
        ownerId,
        title,
        url: rv.chance(0.9) ? `https://videos.example.com/${v.toString(36)}/${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.mp4` : undefined,
        durationMs,
        fps,
        width,
        height,
        metadata: { uploader: rv.pick(["Fox 11 LA", "KTLA 5", "a bystander", "city traffic cam", "drone team"]), tags: rv.sample(["fire", "traffic", "robots", "news", "aerial", "night"], rv.int(1, 3)), language: rv.pick(["en", "es", "zh", "fr"]) },
        createdAt: at(createdMs),
        updatedAt: at(createdMs + rv.next() * 86_400_000 * 30),
      },
    ];
  }

  // ---- world objects
  const rw = ctx.random("world");
  const stampOf = (rr: Random) => {
    const c = rr.next() * SPAN_MS * 0.9;
    return { createdAt: at(c), updatedAt: at(c + rr.next() * 86_400_000 * 30) };
  };
  const entityTypeAssignments = (rr: Random) =>
    rr.sample([...Array(P).keys()], rr.int(1, Math.min(2, P))).map((p) => ({
      personaId: personaId(p),
      entityTypeId: rr.pick(ontologies[p].entity).id,
      confidence: rr.float(0.5, 1, 2),
      ...(rr.chance(0.3) ? { justification: "visible in the footage" } : {}),
    }));

  for (let j = 0; j < plan.worldEntities; j++) {
    const name = `${rw.pick(ADJECTIVES)} ${rw.pick(NOUNS)}${j >= 40 ? ` ${j}` : ""}`;
    const description: Gloss = rw.chance(0.5)
      ? [text(`A ${name} seen near `), objectRef("location", anyObject(rw, "location")), text(".")]
      : [text(`A ${name}.`)];
    const qid = `Q${rw.int(100, 99_999_999)}`;
    yield [
      "WorldEntity",
      {
        id: obj.entity(j),
        ownerId,
        name: name[0].toUpperCase() + name.slice(1),
        description,
        typeAssignments: entityTypeAssignments(rw),
        metadata: { alternateNames: rw.chance(0.3) ? [`${name} (alt)`] : [], ...(rw.chance(0.4) ? { externalIds: { wikidata: qid } } : {}), properties: { color: rw.pick(ADJECTIVES) } },
        extra: rw.chance(0.2) ? { wikidataId: qid, wikidataUrl: `https://www.wikidata.org/wiki/${qid}`, importedFrom: "wikidata" } : undefined,
        ...stampOf(rw),
      },
    ];
  }

  for (let j = 0; j < plan.worldLocations; j++) {
    const extent = j === 1 || (j > 1 && rw.chance(0.3));
    const lat = rw.float(33.7, 34.3, 5);
    const lon = rw.float(-118.7, -118.1, 5);
    yield [
      "WorldLocation",
      {
        id: obj.location(j),
        ownerId,
        name: `${PLACES[j % PLACES.length]}${j >= PLACES.length ? ` ${Math.floor(j / PLACES.length) + 1}` : ""}`,
        description: [text(extent ? "An area around " : "A spot at "), text(PLACES[j % PLACES.length])],
        locationType: extent ? "extent" : "point",
        coordinates: extent
          ? { boundary: [0, 1, 2, 3].map((k) => ({ latitude: lat + (k & 1) * 0.01, longitude: lon + (k >> 1) * 0.01 })) }
          : { latitude: lat, longitude: lon, ...(rw.chance(0.3) ? { altitude: rw.int(0, 800) } : {}) },
        typeAssignments: entityTypeAssignments(rw),
        metadata: rw.chance(0.5) ? { properties: { terrain: rw.pick(["urban", "hills", "coast", "freeway"]) } } : undefined,
        extra: { coordinateSystem: "WGS84" },
        ...stampOf(rw),
      },
    ];
  }

  for (let j = 0; j < plan.worldEvents; j++) {
    const interpretations = rw.sample([...Array(P).keys()], rw.int(1, Math.min(2, P))).map((p) => ({
      personaId: personaId(p),
      eventTypeId: rw.pick(ontologies[p].event).id,
      participants: Array.from({ length: rw.int(1, 3) }, () => ({ entityId: anyObject(rw, "entity"), roleTypeId: rw.pick(ontologies[p].role).id })),
      confidence: rw.float(0.4, 1, 2),
      ...(rw.chance(0.3) ? { justification: "inferred from the narration" } : {}),
    }));
    const kind = rw.pick(EVENT_TYPES)[0];
    yield [
      "WorldEvent",
      {
        id: obj.event(j),
        ownerId,
        name: `${kind[0].toUpperCase()}${kind.slice(1)} at ${rw.pick(PLACES)}`,
        description: [text(`A ${kind} involving `), objectRef("entity", anyObject(rw, "entity")), text(" at "), objectRef("time", anyObject(rw, "time")), text(".")],
        personaInterpretations: interpretations,
        metadata: { certainty: rw.pick(["certain", "probable", "possible"]), properties: {} },
        ...stampOf(rw),
      },
    ];
  }

  for (let j = 0; j < plan.worldTimes; j++) {
    const instant = j === 0 || (j > 1 && rw.chance(0.6));
    const start = at(rw.next() * SPAN_MS * 0.95);
    const end = new Date(start.getTime() + rw.int(1, 7200) * 1000);
    const v = rw.int(0, plan.videos - 1);
    const f = rw.int(0, frames[v]);
    yield [
      "WorldTime",
      {
        id: obj.time(j),
        ownerId,
        type: instant ? "instant" : "interval",
        label: rw.chance(0.6) ? (instant ? `Moment ${j}` : `Period ${j}`) : undefined,
        timestamp: instant ? iso(start) : undefined,
        startTime: instant ? undefined : iso(start),
        endTime: instant ? undefined : iso(end),
        extra: rw.chance(0.5)
          ? {
              videoReferences: [instant ? { videoId: ids.id("video", v), frameNumber: f } : { videoId: ids.id("video", v), frameRange: { start: f, end: f + rw.int(10, 300) } }],
              certainty: rw.pick(["exact", "approximate"]),
            }
          : undefined,
        ...stampOf(rw),
      },
    ];
  }

  const memberKinds = ["entity", "event", "time"] as const;
  for (let j = 0; j < plan.worldCollections; j++) {
    const memberKind = j < 3 ? memberKinds[j] : rw.pick(memberKinds);
    const members = rw.sample([...Array(count[memberKind]).keys()], rw.int(2, 6)).map((k) => obj[memberKind](k));
    const p = rw.int(0, P - 1);
    yield [
      "WorldCollection",
      {
        id: ids.id("worldCollection", j),
        ownerId,
        memberKind,
        collectionType: memberKind === "time" ? rw.pick(["periodic", "group"]) : memberKind === "event" ? rw.pick(["sequence", "group"]) : rw.pick(["group", "team", "fleet"]),
        name: `${memberKind[0].toUpperCase()}${memberKind.slice(1)} collection ${j + 1}`,
        // FOVEA keeps time collections' descriptions as plain strings
        description: memberKind === "time" ? `Times grouped for review ${j + 1}` : [text(`${members.length} ${memberKind}s seen together`)],
        members,
        typeAssignments:
          memberKind === "entity"
            ? [{ personaId: personaId(p), entityTypeId: rw.pick(ontologies[p].entity).id }]
            : memberKind === "event"
              ? [{ personaId: personaId(p), eventTypeId: rw.pick(ontologies[p].event).id }]
              : [],
        ...stampOf(rw),
      },
    ];
  }

  for (let j = 0; j < plan.worldRelations; j++) {
    const sourceType: ObjectKind = j < 4 ? refKinds[j] : rw.pick(refKinds);
    const targetType: ObjectKind = j < 4 ? refKinds[3 - j] : rw.pick(refKinds);
    const p = rw.int(0, P - 1);
    yield [
      "WorldRelation",
      {
        id: ids.id("worldRelation", j),
        ownerId,
        relationTypeId: rw.pick(ontologies[p].relation).id,
        sourceType,
        sourceId: anyObject(rw, sourceType),
        targetType,
        targetId: anyObject(rw, targetType),
        metadata: rw.chance(0.5) ? { personaId: personaId(p), confidence: rw.float(0.5, 1, 2) } : undefined,
        ...stampOf(rw),
      },
    ];
  }

  // ---- annotations: annotation j belongs to video j % videos
  const ra = ctx.random("annotations");
  const annotationId = (j: number) => ids.id("annotation", j);
  const linkTypes = { entity: 50, event: 20, time: 15, location: 15 } as const;
  const linkColumn = { entity: "linkedEntityId", event: "linkedEventId", time: "linkedTimeId", location: "linkedLocationId" } as const;
  const typeCategories = { entity: 60, role: 20, event: 20 } as const;
  for (let j = 0; j < plan.annotations; j++) {
    const v = j % plan.videos;
    // the first seven show every link type and every type category
    const isObject = j < 4 || (j >= 7 && ra.chance(0.55));
    const row: Record<string, unknown> = {
      id: annotationId(j),
      ownerId,
      videoId: ids.id("video", v),
      annotationType: isObject ? "object" : "type",
    };
    if (isObject) {
      const linkType = j < 4 ? refKinds[j] : ra.weighted(linkTypes);
      row.linkType = linkType;
      row[linkColumn[linkType]] = anyObject(ra, linkType);
      if (ra.chance(0.3)) row.personaId = personaId(ra.int(0, P - 1));
    } else {
      const p = ra.int(0, P - 1);
      const category = j < 7 ? (["entity", "role", "event"] as const)[j - 4] : ra.weighted(typeCategories);
      row.personaId = personaId(p);
      row.typeCategory = category;
      row.typeId = ra.pick(ontologies[p][category]).id;
    }
    const seq = boxSequence(ra, frames[v], sizes[v]);
    row.boundingBoxSequence = seq;
    row.totalFrames = seq.totalFrames;
    row.keyframeCount = seq.keyframeCount;
    row.interpolatedFrameCount = seq.interpolatedFrameCount;
    row.confidence = ra.chance(0.8) ? ra.float(0.3, 1, 3) : undefined;
    row.notes = ra.chance(0.2) ? ra.pick(["partially occluded", "re-check the last keyframe", "tracked with SAM2, corrected by hand", "fast motion"]) : undefined;
    row.metadata = ra.chance(0.3) ? { createdBy: "seed", reviewed: ra.chance(0.5) } : undefined;
    Object.assign(row, stampOf(ra));
    yield ["Annotation", row];
  }
  /** ids of annotations on video v */
  const annotationsOf = (v: number) => (v < plan.annotations ? Math.floor((plan.annotations - 1 - v) / plan.videos) + 1 : 0);

  // ---- summaries (one per video and persona), their claim trees and relations
  const rs = ctx.random("claims");
  let summaryIndex = 0;
  let claimIndex = 0;
  let relationIndex = 0;
  for (let v = 0; v < plan.videos; v++) {
    const nAnn = annotationsOf(v);
    const personas = rs.sample([...Array(P).keys()], rs.int(1, plan.maxSummariesPerVideo));
    for (const p of personas) {
      const summaryId = ids.id("videoSummary", summaryIndex++);
      const base = rs.next() * SPAN_MS * 0.9;
      const stamp = (dt: number) => ({ createdAt: at(base + dt), updatedAt: at(base + dt + rs.int(0, 3_600_000)) });
      yield [
        "VideoSummary",
        {
          id: summaryId,
          ownerId,
          videoId: ids.id("video", v),
          personaId: personaId(p),
          // FOVEA's summary gloss is often empty
          summary: rs.chance(0.4)
            ? []
            : [text("The video shows "), objectRef("entity", anyObject(rs, "entity")), text(" near "), objectRef("location", anyObject(rs, "location")), text(" during "), objectRef("event", anyObject(rs, "event")), text(".")],
          extra: {
            keyFrames: Array.from({ length: rs.int(0, 3) }, (_, k) => ({ frameNumber: k * 30, timestamp: k * 1000, description: `key frame ${k + 1}` })),
            confidence: rs.float(0.5, 1, 2),
            ...(rs.chance(0.5) ? { visualModelUsed: "gemini-2.5-flash", audioModelUsed: "whisper-large-v3", fusionStrategy: "sequential", audioLanguage: "en", speakerCount: rs.int(1, 4) } : {}),
            ...(rs.chance(0.3) ? { audioTranscript: "Firefighters are on scene and the freeway is closed in both directions." } : {}),
          },
          ...stamp(0),
        },
      ];

      const c = plan.claimsPerSummary;
      const nClaims = rs.int(Math.max(1, c - Math.floor(c / 2)), c + Math.floor(c / 2));
      const first = claimIndex;
      for (let k = 0; k < nClaims; k++) {
        const id = ids.id("claim", claimIndex++);
        const earlier = k > 0 ? ids.id("claim", first + rs.int(0, k - 1)) : undefined;
        const ann = nAnn > 0 ? annotationId(v + plan.videos * rs.int(0, nAnn - 1)) : undefined;
        const pattern = k === 0 ? rs.int(0, 2) : rs.int(0, 5);
        let gloss: Gloss;
        switch (pattern) {
          case 0:
            gloss = [objectRef("entity", anyObject(rs, "entity")), text(" was seen near "), objectRef("location", anyObject(rs, "location")), text(".")];
            break;
          case 1:
            gloss = [objectRef("entity", anyObject(rs, "entity")), text(" took part in "), objectRef("event", anyObject(rs, "event")), text(" at "), objectRef("time", anyObject(rs, "time")), text(".")];
            break;
          case 2:
            gloss = [text("This video was taken by "), objectRef("entity", anyObject(rs, "entity")), text(".")];
            break;
          case 3:
            gloss = ann
              ? [text("The "), typeRef(anyType(rs, "entity", p)), text(" in "), annotationRef(ann), text(" is "), objectRef("entity", anyObject(rs, "entity")), text(".")]
              : [text("The "), typeRef(anyType(rs, "entity", p)), text(" is "), objectRef("entity", anyObject(rs, "entity")), text(".")];
            break;
          case 4:
            gloss = [text("This is consistent with "), claimRef(earlier!), text(".")];
            break;
          default:
            gloss = [text(rs.pick(["The smoke is moving east.", "Traffic is stopped in both directions.", "The robot falls and gets up again.", "The crowd cheers loudly."]))];
        }
        const extra: Record<string, unknown> = {
          summaryType: "video",
          extractionStrategy: rs.chance(0.6) ? "manual" : "llm",
          video: ["text"],
          textSpans: [{ sentenceIndex: k, charStart: 0, charEnd: flatten(gloss).length }],
        };
        if (rs.chance(0.3)) extra.audio = ["speech"];
        if (rs.chance(0.2)) Object.assign(extra, { claimerType: "entity", claimerGloss: [objectRef("entity", anyObject(rs, "entity"))] });
        if (ann && rs.chance(0.25)) extra.timeSpans = [{ start: rs.int(0, 5000), end: rs.int(5001, 20_000), source: "annotation", annotationIds: [ann] }];
        if (rs.chance(0.15)) extra.claimEventId = anyObject(rs, "event");
        if (rs.chance(0.1)) extra.claimTimeId = anyObject(rs, "time");
        if (rs.chance(0.1)) extra.claimLocationId = anyObject(rs, "location");
        yield [
          "Claim",
          {
            id,
            ownerId,
            summaryId,
            // trees: about a third of the claims elaborate an earlier one
            parentClaimId: earlier && rs.chance(0.35) ? earlier : undefined,
            text: flatten(gloss),
            gloss,
            confidence: rs.chance(0.85) ? rs.float(0.3, 1, 2) : undefined,
            extra,
            ...stamp(60_000 * (k + 1)),
          },
        ];
      }
      // relations between claims of the same summary, typed by the persona's relation types
      const nRel = nClaims < 2 ? 0 : Math.round(nClaims * 0.19 + rs.next() - 0.5);
      for (let k = 0; k < nRel; k++) {
        const a = rs.int(0, nClaims - 1);
        const b = (a + rs.int(1, nClaims - 1)) % nClaims;
        const kind = rs.chance(0.7) ? "supports" : "contradicts";
        const type = ontologies[p].relation.find((t) => t.name === kind) ?? rs.pick(ontologies[p].relation);
        yield [
          "ClaimRelation",
          {
            id: ids.id("claimRelation", relationIndex++),
            ownerId,
            sourceClaimId: ids.id("claim", first + a),
            targetClaimId: ids.id("claim", first + b),
            relationTypeId: type.id,
            extra: rs.chance(0.5) ? { confidence: rs.float(0.5, 1, 2), notes: "linked by the seed" } : undefined,
            ...stamp(60_000 * (nClaims + k + 1)),
          },
        ];
      }
    }
  }
}

/** A keyframed track inside a video of `frames` frames (FORMAT-FACTS §6). */
function boxSequence(r: Random, frames: number, [width, height]: [number, number]) {
  const keyframes = Number(r.weighted({ "1": 15, "2": 25, "3": 30, "4": 20, "5": 10 }));
  const gaps = Array.from({ length: keyframes - 1 }, () => r.int(4, 45));
  const length = gaps.reduce((a, b) => a + b, 0);
  const first = r.int(0, Math.max(0, frames - length - 40));
  let w = r.float(width * 0.05, width * 0.3, 2);
  let h = r.float(height * 0.05, height * 0.3, 2);
  let x = r.float(0, width - w, 2);
  let y = r.float(0, height - h, 2);
  const keys: { x: number; y: number; width: number; height: number; frameNumber: number }[] = [];
  let f = first;
  for (let k = 0; k < keyframes; k++) {
    if (k > 0) {
      f += gaps[k - 1];
      w = Math.max(4, Math.round(w * r.float(0.9, 1.1) * 100) / 100);
      h = Math.max(4, Math.round(h * r.float(0.9, 1.1) * 100) / 100);
      x = Math.min(Math.max(0, Math.round((x + r.float(-40, 40)) * 100) / 100), Math.max(0, width - w));
      y = Math.min(Math.max(0, Math.round((y + r.float(-25, 25)) * 100) / 100), Math.max(0, height - h));
    }
    keys.push({ x, y, width: w, height: h, frameNumber: f });
  }
  const boxes: Record<string, unknown>[] = [];
  const segments: Record<string, unknown>[] = [];
  let interpolated = 0;
  for (let k = 0; k < keys.length; k++) {
    const a = keys[k];
    boxes.push({ ...a, isKeyframe: true, ...(r.chance(0.5) ? { confidence: r.float(0.5, 1, 3) } : {}) });
    const b = keys[k + 1];
    if (!b) break;
    const type = r.weighted(INTERPOLATION);
    const segment: Record<string, unknown> = { startFrame: a.frameNumber, endFrame: b.frameNumber, type };
    if (type === "bezier") segment.controlPoints = { x: [{ x: 0.25, y: r.float(0, 1, 2) }, { x: 0.75, y: r.float(0, 1, 2) }] };
    if (type === "parametric") segment.parametric = { x: { type: "linear", parameters: { slope: r.float(-2, 2, 3), intercept: a.x } } };
    segments.push(segment);
    // a few stored in-between boxes, as FOVEA keeps them when interpolation was baked
    const span = b.frameNumber - a.frameNumber;
    const between = span > 2 && r.chance(0.4) ? r.int(1, Math.min(3, span - 1)) : 0;
    for (let i = 1; i <= between; i++) {
      const t = i / (between + 1);
      const lerp = (p: number, q: number) => Math.round((p + (q - p) * t) * 100) / 100;
      boxes.push({ x: lerp(a.x, b.x), y: lerp(a.y, b.y), width: lerp(a.width, b.width), height: lerp(a.height, b.height), frameNumber: a.frameNumber + Math.round(span * t), isKeyframe: false });
      interpolated++;
    }
  }
  const last = keys[keys.length - 1].frameNumber;
  const visibleEnd = last + r.int(0, 30);
  const visibilityRanges: Record<string, unknown>[] = [{ startFrame: first, endFrame: visibleEnd, visible: true }];
  if (r.chance(0.2)) visibilityRanges.push({ startFrame: visibleEnd + 1, endFrame: visibleEnd + r.int(5, 30), visible: false });
  const end = visibilityRanges[visibilityRanges.length - 1].endFrame as number;
  return {
    boxes,
    interpolationSegments: segments,
    visibilityRanges,
    trackId: r.chance(0.5) ? r.int(1, 500) : `track-${r.int(1, 500)}`,
    trackingSource: r.pick(TRACKING),
    trackingConfidence: r.float(0.5, 1, 3),
    totalFrames: end - first + 1,
    keyframeCount: keyframes,
    interpolatedFrameCount: interpolated,
  };
}
