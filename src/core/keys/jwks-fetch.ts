// One bounded GET of a JWK Set: the keyset's I/O, kept apart from how it stores and refreshes keys.

/** A fetch that failed for a reason worth logging (status, deadline, size); never holds the body. */
export class KeySetFetchError extends Error {
  override readonly name = 'KeySetFetchError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * GET `uri` under one deadline for headers and body, reading at most `maxBytes`; redirects are
 * refused (a redirect could leave https). Resolves the parsed JSON.
 */
export async function fetchJson(
  fetchImpl: typeof fetch,
  uri: URL,
  timeoutMs: number,
  maxBytes: number,
): Promise<unknown> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    const response = await fetchImpl(uri, {
      signal: controller.signal,
      redirect: 'error',
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new KeySetFetchError(`HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new KeySetFetchError(`response of ${declared} bytes, over the ${maxBytes}-byte cap`);
    }
    const body = await readCapped(response, maxBytes);
    try {
      return JSON.parse(utf8.decode(body));
    } catch {
      throw new KeySetFetchError('the response is not JSON');
    }
  } catch (error) {
    if (timedOut) throw new KeySetFetchError(`no complete answer within ${timeoutMs} ms`);
    if (error instanceof KeySetFetchError) throw error;
    throw new KeySetFetchError(
      `request failed (${(error as { cause?: { code?: string } })?.cause?.code ?? (error as Error)?.name ?? 'error'})`,
    );
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new KeySetFetchError(`response over the ${maxBytes}-byte cap`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
