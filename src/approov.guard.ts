import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApproovBindingMetadata, SkipApproovMetadata } from './approov.metadata.js';
import { ApproovMessageSigningMetadata } from './approov-message-signing.metadata.js';
import { ApproovService, type ApproovRequestLike } from './approov.service.js';
import { approovUnauthorized } from './approov.unauthorized.js';
import type { ApproovFailureCode } from './core/failure.js';

const NO_BINDING: readonly string[] = Object.freeze([]);

/** What a request passed: which module instance verified it, for which binding and signing rules. */
interface Pass {
  readonly approov: ApproovService;
  readonly binding: readonly string[];
  readonly signing: unknown;
}

// Requests that already passed, so the guard can run twice (global APP_GUARD plus the one
// @ApproovBinding attaches) without verifying twice. Only passes are kept, each with the module
// instance and the exact rules it passed: a monitor-mode failure, another module's secret or a
// route without signing never vouches for a stricter check.
const passes = new WeakMap<object, Pass[]>();

/**
 * Serves a request only with a valid Approov token and, on routes marked @ApproovBinding, a token
 * bound to the declared headers. Every reject is the same 401. Verified claims go to
 * `request.approov`. Override `getRequest` for GraphQL and other non-HTTP contexts.
 */
@Injectable()
export class ApproovGuard implements CanActivate {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly approov: ApproovService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const binding = this.reflector.getAllAndOverride(ApproovBindingMetadata, targets);
    const signing = this.reflector.getAllAndOverride(ApproovMessageSigningMetadata, targets);
    // A binding or signing route is never skipped: they outrank @SkipApproov.
    if (
      binding === undefined &&
      signing === undefined &&
      this.reflector.getAllAndOverride(SkipApproovMetadata, targets) === true
    ) {
      return true;
    }
    const bindingHeaders =
      binding === undefined ? NO_BINDING : binding.length > 0 ? binding : this.approov.defaultBindingHeaders;

    const request = this.getRequest(context);
    const passed = passes.get(request);
    if (passed?.some((p) => p.approov === this.approov && p.binding === bindingHeaders && p.signing === signing)) {
      return true;
    }
    let result = this.approov.verifyRequest(request, bindingHeaders);
    if (result.ok && signing !== undefined) {
      const signed = this.approov.messageSigning.verify(request, result.claims, signing);
      if (!signed.ok) result = { ok: false, code: signed.code };
    }
    if (!result.ok) return this.handleFailure(result.code, request);
    request.approov = result.claims;
    const pass: Pass = { approov: this.approov, binding: bindingHeaders, signing };
    if (passed === undefined) passes.set(request, [pass]);
    else passed.push(pass);
    return true;
  }

  /** The HTTP request (Express or Fastify). Override to reach it in other contexts. */
  protected getRequest(context: ExecutionContext): ApproovRequestLike {
    return context.switchToHttp().getRequest<ApproovRequestLike>();
  }

  /** Reports the reject, then throws the one 401 (or serves it in monitor mode). */
  protected handleFailure(code: ApproovFailureCode, request: ApproovRequestLike): boolean {
    if (this.approov.reportFailure(code, request)) return true;
    throw approovUnauthorized();
  }
}
