import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Logger {
  if (stream.isTTY) {
    return pino({ level, transport: { target: "pino-pretty", options: { colorize: true, destination: 2, ignore: "pid,hostname" } } });
  }
  return pino({ level }, stream);
}
