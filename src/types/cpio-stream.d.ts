// cpio-stream ships no types: the part of its API we use (extracting).
declare module 'cpio-stream' {
  import type { Writable } from 'node:stream';
  interface Extract extends Writable {
    on(event: 'entry', fn: (header: { name: string; size: number }, stream: NodeJS.ReadableStream, next: () => void) => void): this;
    on(event: 'error', fn: (e: Error) => void): this;
    on(event: 'finish', fn: () => void): this;
  }
  const cpio: { extract(): Extract };
  export default cpio;
}
