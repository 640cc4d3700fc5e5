import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for the tests (and a template for clients): every
// graphql(`...`) call under test/ is checked against schema.graphql.
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/**/*.ts", "!test/gql/**"],
  ignoreNoDocuments: true,
  generates: {
    "test/gql/": {
      preset: "client",
      config: {
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown", Upload: "File" },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
