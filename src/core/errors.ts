/** Thrown at boot for any unusable configuration; the message names the option or environment variable at fault. */
export class ApproovConfigurationError extends Error {
  override readonly name = 'ApproovConfigurationError';
}

/** The replay store cannot answer (down, slow, full): the server cannot decide whether a request is a replay. */
export class ReplayStoreUnavailableError extends Error {
  override readonly name: string = 'ReplayStoreUnavailableError';
}

/** The replay store did not answer within the deadline of the call. */
export class ReplayStoreTimeoutError extends ReplayStoreUnavailableError {
  override readonly name: string = 'ReplayStoreTimeoutError';
}
