import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AllowApproovStatusMetadata,
  ApproovBindingMetadata,
  SigningRulesMetadata,
  SkipApproovMetadata,
} from './approov.metadata.js';
import { createApproovRejection } from './approov.rejection.js';
import { ApproovService } from './approov.service.js';
import type { ApproovRouteRules, ApproovVerdict } from './core/check/approov-check.js';
import type { ApproovFailureCode } from './core/failure.js';
import type { ApproovRequestLike } from './core/http/request.js';

const NO_BINDING: readonly string[] = Object.freeze([]);

/** A route's Approov metadata, read once: it is fixed once the app has started. */
interface RouteRules extends ApproovRouteRules {
  readonly skipped: boolean;
}

/**
 * Serves a request only with a valid Approov token and, on routes marked @ApproovBinding or
 * @ApproovMessageSigning, a token bound to the declared headers and a valid message signature.
 * Every client-fault reject is the same 401; "cannot decide" is a 503. Verified claims go to
 * `request.approov`. Subclass it to change when it runs (`shouldSkip`), where the request comes
 * from (`getRequest`) or what it throws (`createRejection`).
 *
 * `canActivate` returns a Promise only when a check really is asynchronous; the token-only path
 * answers synchronously.
 */
@Injectable()
export class ApproovGuard implements CanActivate {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly service: ApproovService,
  ) {}

  // Per controller class, then handler: a handler inherited by two controllers may carry other class metadata.
  private readonly routeRules = new WeakMap<object, WeakMap<object, RouteRules>>();

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.shouldSkip(context)) return true;
    const request = this.getRequest(context);
    const verdict = this.service.approovCheck.check(request, this.rulesOf(context));
    // Only a step that really waits (a keyset refetch, a body, a shared replay store) gives a Promise.
    return verdict instanceof Promise
      ? verdict.then((settled) => this.conclude(settled, request, context))
      : this.conclude(verdict, request, context);
  }

  /** The claims go on the request; a reject is thrown (a failure served anyway just passes). */
  private conclude(
    verdict: ApproovVerdict,
    request: ApproovRequestLike,
    context: ExecutionContext,
  ): boolean {
    if (verdict.ok) request.approov = verdict.claims;
    else if (!verdict.serve) throw this.createRejection(verdict.code, context);
    return true;
  }

  /**
   * True to let the request through unchecked. Default: the route carries `@SkipApproov()` and
   * neither `@ApproovBinding` nor `@ApproovMessageSigning` (those outrank it). Example, a health check:
   *
   * ```ts
   * protected override shouldSkip(context: ExecutionContext): boolean {
   *   return context.switchToHttp().getRequest().url === '/healthz' || super.shouldSkip(context);
   * }
   * ```
   */
  protected shouldSkip(context: ExecutionContext): boolean {
    return this.rulesOf(context).skipped;
  }

  /**
   * The HTTP request (Express or Fastify). Override to reach it in other contexts, e.g. GraphQL:
   *
   * ```ts
   * protected override getRequest(context: ExecutionContext): ApproovRequestLike {
   *   return GqlExecutionContext.create(context).getContext().req;
   * }
   * ```
   */
  protected getRequest(context: ExecutionContext): ApproovRequestLike {
    return context.switchToHttp().getRequest<ApproovRequestLike>();
  }

  /**
   * What the guard throws for a reject: by default the one 401 (`{"statusCode":401,"message":"Unauthorized"}`)
   * for client-fault codes, and a 503 with no reason for codes in UNAVAILABLE_FAILURE_CODES.
   * The code is already logged and reported; keep it out of the response. Example, a GraphQL error:
   *
   * ```ts
   * protected override createRejection(code: ApproovFailureCode, context: ExecutionContext): Error {
   *   return new GraphQLError('Unauthorized', { extensions: { code: 'UNAUTHENTICATED' } });
   * }
   * ```
   */
  protected createRejection(code: ApproovFailureCode, _context: ExecutionContext): Error {
    return createApproovRejection(code);
  }

  /** The route's metadata, read with the reflector on its first request and remembered. */
  private rulesOf(context: ExecutionContext): RouteRules {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routeRules.get(controller);
    const known = byHandler?.get(handler);
    if (known !== undefined) return known;
    const targets = [handler, controller];
    const binding = this.reflector.getAllAndOverride(ApproovBindingMetadata, targets);
    const signing = this.reflector.getAllAndOverride(SigningRulesMetadata, targets);
    const rules: RouteRules = {
      // A binding or signing route is never skipped: they outrank @SkipApproov.
      skipped:
        this.reflector.getAllAndOverride(SkipApproovMetadata, targets) === true &&
        binding === undefined &&
        signing === undefined,
      bindingHeaders:
        binding === undefined
          ? NO_BINDING
          : binding.length > 0
            ? binding
            : this.service.defaultBindingHeaders,
      signing,
      allowStatuses: this.reflector.getAllAndOverride(AllowApproovStatusMetadata, targets),
    };
    if (byHandler === undefined) this.routeRules.set(controller, (byHandler = new WeakMap()));
    byHandler.set(handler, rules);
    return rules;
  }
}
