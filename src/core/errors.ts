/** Thrown at boot for any unusable configuration; the message names the option or environment variable at fault. */
export class ApproovConfigurationError extends Error {
  override readonly name = 'ApproovConfigurationError';
}
