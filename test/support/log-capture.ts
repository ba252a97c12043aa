import type { LoggerService } from '@nestjs/common';

// Everything the e2e apps write: Nest logger calls (given to NestFactory.create) and raw
// process.stdout/stderr writes. One capture per test file (Jest isolates module registries).

export interface CapturedLine {
  level: string;
  message: string;
  context?: string;
}

export class CapturingLogger implements LoggerService {
  readonly lines: CapturedLine[] = [];

  log(message: unknown, ...params: unknown[]): void {
    this.record('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.record('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.record('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.record('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.record('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.record('fatal', message, params);
  }

  private record(level: string, message: unknown, params: unknown[]): void {
    const last = params.at(-1);
    const context = typeof last === 'string' ? last : undefined;
    const rest = params.map((param) =>
      param instanceof Error ? `${param.message}\n${param.stack}` : String(param),
    );
    const text =
      message instanceof Error ? `${message.message}\n${message.stack}` : String(message);
    this.lines.push({ level, message: [text, ...rest].join(' '), context });
  }
}

type Write = typeof process.stdout.write;

export class LogCapture {
  readonly logger = new CapturingLogger();
  readonly stdio: string[] = [];
  /** Values that must never appear in any captured output. */
  readonly sensitive = new Set<string>();
  private restore: (() => void) | undefined;

  /** Starts recording process.stdout/stderr (still passed through). Idempotent. */
  start(): void {
    if (this.restore !== undefined) return;
    const hook = (stream: NodeJS.WriteStream): (() => void) => {
      const original = stream.write;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        this.stdio.push(
          typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1'),
        );
        return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as Write;
      return () => {
        stream.write = original;
      };
    };
    const undoOut = hook(process.stdout);
    const undoErr = hook(process.stderr);
    this.restore = () => {
      undoOut();
      undoErr();
      this.restore = undefined;
    };
  }

  stop(): void {
    this.restore?.();
  }

  /** Registers a value (token, bound header value, secret text) that must never be logged. */
  addSensitive(...values: string[]): void {
    // Very short values (e.g. "a") would match ordinary words; the e2e suites use long ones.
    for (const value of values) if (value.length >= 8) this.sensitive.add(value);
  }

  /** Registers a secret: its text, its other base64 spellings and the hex of its bytes. */
  addSecret(secretText: string): void {
    const bytes = Buffer.from(
      secretText,
      secretText.includes('-') || secretText.includes('_') ? 'base64url' : 'base64',
    );
    this.addSensitive(
      secretText,
      bytes.toString('base64'),
      bytes.toString('base64url'),
      bytes.toString('hex'),
    );
    this.addSensitive(bytes.toString('hex').toUpperCase(), bytes.toString('latin1'));
  }

  /** All captured output as one text. */
  text(): string {
    return [
      ...this.logger.lines.map((line) => `${line.level} [${line.context ?? ''}] ${line.message}`),
      ...this.stdio,
    ].join('\n');
  }

  /** Captured values from `sensitive` that appear in the output (empty when clean). */
  leaks(): string[] {
    const text = this.text();
    return [...this.sensitive].filter((value) => text.includes(value));
  }

  /** Lines the module wrote (logger context 'Approov'). */
  approovLines(): CapturedLine[] {
    return this.logger.lines.filter((line) => line.context === 'Approov');
  }
}

export const logCapture = new LogCapture();
