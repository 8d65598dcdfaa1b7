/**
 * modelopt.v1.ArtifactService: chunked upload and download of artifacts for clients outside the
 * cluster (they cannot reach the file store or the object store directly). Every service process
 * serves it next to its own service, over the process's artifact store. Without a store it answers
 * UNIMPLEMENTED.
 */
import { ArtifactServiceService, type UploadRequest, type DownloadResponse } from '../../../gen/modelopt/v1/artifacts.js';
import { defineService, clientStream, serverStream, unimplemented, type ServiceRegistration } from './handlers.js';
import type { ArtifactStore } from '../artifacts/types.js';
import { InvalidArgument } from '../errors.js';
import { IntegrityError } from '../artifacts/errors.js';

const DEFAULT_CHUNK = 1 << 20;
const MAX_CHUNK = 4 << 20;

export function artifactService(store?: ArtifactStore): ServiceRegistration<typeof ArtifactServiceService> {
  if (!store) {
    return defineService(ArtifactServiceService, {
      upload: unimplemented('Artifacts.Upload: this server has no artifact store'),
      download: unimplemented('Artifacts.Download: this server has no artifact store'),
    });
  }
  return defineService(ArtifactServiceService, {
    upload: clientStream(async (requests: AsyncIterable<UploadRequest>) => {
      // The header (first message) must be read before the store is called: it carries the media type.
      const it = requests[Symbol.asyncIterator]();
      const firstMsg = await it.next();
      const header: UploadRequest['header'] = firstMsg.done ? undefined : firstMsg.value.header;
      let received = 0;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        const take = (req: UploadRequest): Uint8Array | undefined => {
          if (req.header) throw new InvalidArgument('Upload: the header must be the first message');
          if (!req.chunk || req.chunk.length === 0) return undefined;
          received += req.chunk.length;
          if (header?.sizeBytes && received > header.sizeBytes) throw new InvalidArgument(`Upload: more bytes than the declared ${header.sizeBytes}`);
          return req.chunk;
        };
        if (!firstMsg.done && !header) {
          const c = take(firstMsg.value);
          if (c) yield c;
        }
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          const c = take(next.value);
          if (c) yield c;
        }
      }
      const ref = await store.put(chunks(), { mediaType: header?.mediaType || undefined });
      if (header?.sizeBytes && ref.sizeBytes !== header.sizeBytes) {
        await store.delete(ref);
        throw new InvalidArgument(`Upload: received ${ref.sizeBytes} bytes, header declared ${header.sizeBytes}`);
      }
      if (header?.sha256 && ref.sha256 !== header.sha256.toLowerCase()) {
        await store.delete(ref);
        throw new IntegrityError(ref.uri, header.sha256, ref.sha256, 'upload');
      }
      return { ref };
    }),
    download: serverStream(async function* (req, ctx): AsyncGenerator<DownloadResponse> {
      if (!req.ref || !req.ref.uri) throw new InvalidArgument('Download: no artifact reference given');
      const size = req.chunkSize > 0 ? Math.min(req.chunkSize, MAX_CHUNK) : DEFAULT_CHUNK;
      const stream = await store.openRead(req.ref);
      let offset = 0;
      let firstMsg = true;
      let pending: Buffer[] = [];
      let pendingLen = 0;
      const flush = (all: boolean): DownloadResponse[] => {
        const out: DownloadResponse[] = [];
        let buf = Buffer.concat(pending, pendingLen);
        while (buf.length >= size || (all && buf.length > 0)) {
          const part = buf.subarray(0, Math.min(size, buf.length));
          out.push({ ref: firstMsg ? req.ref : undefined, offset, chunk: Buffer.from(part) });
          firstMsg = false;
          offset += part.length;
          buf = buf.subarray(part.length);
        }
        pending = buf.length ? [buf] : [];
        pendingLen = buf.length;
        return out;
      };
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        ctx.throwIfAborted();
        pending.push(chunk);
        pendingLen += chunk.length;
        if (pendingLen >= size) yield* flush(false);
      }
      yield* flush(true);
      if (firstMsg) yield { ref: req.ref, offset: 0, chunk: Buffer.alloc(0) };
    }),
  });
}
