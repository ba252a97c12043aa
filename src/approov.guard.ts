import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApproovBindingMetadata, SkipApproovMetadata } from './approov.metadata.js';
import { ApproovMessageSigningMetadata } from './approov-message-signing.metadata.js';
import { ApproovService, type ApproovRequestLike } from './approov.service.js';
import { approovUnauthorized } from './approov.unauthorized.js';
import type { ApproovFailureCode } from './core/failure.js';

const NO_BINDING: readonly string[] = Object.freeze([]);

// Requests already judged, with the binding list they were judged for. Shared by every guard
// instance: the global APP_GUARD and the one @ApproovBinding attaches can both run on a request.
const judged = new WeakMap<object, readonly string[]>();

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
    if (judged.get(request) === bindingHeaders) return true;
    let result = this.approov.verifyRequest(request, bindingHeaders);
    if (result.ok && signing !== undefined) {
      const signed = this.approov.messageSigning.verify(request, result.claims, signing);
      if (!signed.ok) result = { ok: false, code: signed.code };
    }
    if (result.ok) {
      request.approov = result.claims;
      judged.set(request, bindingHeaders);
      return true;
    }
    const served = this.handleFailure(result.code, request);
    judged.set(request, bindingHeaders);
    return served;
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
