import { GraphQLError, Kind, type ValueNode } from "graphql";
import { GraphQLUpload } from "graphql-upload-minimal";
import { builder } from "../builder.js";

builder.addScalarType("Upload", GraphQLUpload as never, {});

builder.scalarType("DateTime", {
  description: "An instant, written as ISO-8601 in UTC (`2024-01-31T09:00:00.000Z`).",
  serialize: (value) => {
    const d = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(d.getTime())) throw new GraphQLError(`not a valid DateTime: ${String(value)}`);
    return d.toISOString();
  },
  parseValue: (value) => {
    if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
      throw new GraphQLError("DateTime must be an ISO-8601 string such as 2024-01-31T09:00:00Z");
    }
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw new GraphQLError(`not a valid DateTime: ${value}`);
    return d;
  },
});

function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value)]));
    default:
      throw new GraphQLError("variables are not accepted inside a JSON literal");
  }
}

builder.scalarType("JSON", {
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literal,
});
