// archiver 8 ships no types; these are the calls stowage makes.
declare module "archiver" {
  import type { Readable, Transform } from "node:stream";
  interface EntryData {
    name: string;
    date?: Date;
    store?: boolean;
    mode?: number;
  }
  export class ZipArchive extends Transform {
    constructor(options?: { zlib?: { level?: number }; forceZip64?: boolean; store?: boolean });
    append(source: Readable | Buffer | string, data: EntryData): this;
    finalize(): Promise<void>;
    pointer(): number;
    abort(): this;
  }
}
