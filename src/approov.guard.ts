import { inspect } from 'node:util';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AllowApproovStatusMetadata,
  ApproovBindingMetadata,
  SigningRulesMetadata,
  SkipApproovMetadata,
} from './approov.metadata.js';
import { createApproovRejection } from './approov-rejection.js';
import { RequestMark, type ApproovRequestLike } from './approov-request.js';
import { ApproovService } from './approov.service.js';
import type { ApproovFailureCode } from './core/failure.js';
import { whenSettled } from './core/maybe-async.js';
import type { ApproovTokenClaims } from './core/token/claims.js';
import type { ApproovCheckResult } from './core/token/verifier.js';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';

const NO_BINDING: readonly string[] = Object.freeze([]);

/** What a request passed: which module instance verified it, for which binding and signing rules. */
interface Pass {
  readonly service: ApproovService;
  readonly binding: readonly string[];
  readonly signing: Readonly<ApproovMessageSigningOptions> | undefined;
}

// What a request already passed, so the guard can run twice (global APP_GUARD plus the one
// @ApproovBinding attaches) without verifying twice. Only passes are kept, each with the module
// instance and the exact rules it passed: a monitor-mode failure, another module's secret or a
// route without signing never vouches for a stricter check.
const passes = new RequestMark<Pass[]>('approov.passes');

/**
 * A pass prints as its name: it is kept on the request, and a request logged in depth must not
 * print the module instance behind it (its replay store's connection settings, say).
 */
function inspectedAsName(pass: Pass): Pass {
  return Object.defineProperty(pass, inspect.custom, { value: () => '[ApproovPass]' });
}

/** A route's Approov metadata, read once: it is fixed once the app has started. */
interface RouteRules {
  readonly skipped: boolean;
  /** What a request on this route passes; compared field by field with other guards' passes. */
  readonly pass: Pass;
  /** `@AllowApproovStatus` on the route or its controller. */
  readonly allowStatuses: readonly string[] | undefined;
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
    const rules = this.rulesOf(context);
    const pass = rules.pass;
    const request = this.getRequest(context);
    const passed = passes.get(request);
    if (
      passed?.some(
        (p) =>
          p.service === pass.service && p.binding === pass.binding && p.signing === pass.signing,
      )
    ) {
      return true;
    }
    const token = this.service.verifyRequest(request, pass.binding);
    // Only a keyset refetch for an unknown `kid` makes the token check wait.
    return token instanceof Promise
      ? token.then((settled) => this.afterToken(settled, request, context, rules))
      : this.afterToken(token, request, context, rules);
  }

  private afterToken(
    token: ApproovCheckResult,
    request: ApproovRequestLike,
    context: ExecutionContext,
    rules: RouteRules,
  ): boolean | Promise<boolean> {
    const { pass } = rules;
    const signing = pass.signing;
    if (!token.ok) return this.reject(token.code, request, context, rules);
    if (signing === undefined) return this.accept(request, token.claims, pass);
    return whenSettled(
      this.service.verifyMessageSignature(request, token.claims, signing),
      (signed) =>
        signed.ok
          ? this.accept(request, token.claims, pass)
          : this.reject(signed.code, request, context, rules),
    );
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
      pass: inspectedAsName({
        service: this.service,
        binding:
          binding === undefined
            ? NO_BINDING
            : binding.length > 0
              ? binding
              : this.service.defaultBindingHeaders,
        signing,
      }),
      allowStatuses: this.reflector.getAllAndOverride(AllowApproovStatusMetadata, targets),
    };
    if (byHandler === undefined) this.routeRules.set(controller, (byHandler = new WeakMap()));
    byHandler.set(handler, rules);
    return rules;
  }

  private accept(request: ApproovRequestLike, claims: ApproovTokenClaims, pass: Pass): boolean {
    request.approov = claims;
    const passed = passes.get(request);
    if (passed === undefined) passes.set(request, [pass]);
    else passed.push(pass);
    return true;
  }

  /** Reports the reject, then throws (or, in monitor mode, serves the request). */
  private reject(
    code: ApproovFailureCode,
    request: ApproovRequestLike,
    context: ExecutionContext,
    rules: RouteRules,
  ): boolean {
    if (this.service.reportFailureAndShouldServe(code, request, rules.allowStatuses)) return true;
    throw this.createRejection(code, context);
  }
}
