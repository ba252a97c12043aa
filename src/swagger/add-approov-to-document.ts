import { RequestMethod, type INestApplication, type VersioningOptions } from '@nestjs/common';
import {
  METHOD_METADATA,
  MODULE_PATH,
  PATH_METADATA,
  VERSION_METADATA,
} from '@nestjs/common/constants.js';
import {
  APP_GUARD,
  type ApplicationConfig,
  DiscoveryService,
  MetadataScanner,
  ModulesContainer,
  Reflector,
} from '@nestjs/core';
import { RoutePathFactory } from '@nestjs/core/router/route-path-factory.js';
import type { OpenAPIObject, OperationObject, PathItemObject } from '@nestjs/swagger';
import { APPROOV_MODULE_EXTRAS } from '../approov.constants.js';
import { isApproovGuard } from '../approov.guard.js';
import { readApproovRoute } from '../approov.metadata.js';
import type { ApproovModuleExtras } from '../approov.options.js';
import { ApproovService } from '../approov.service.js';
import { ApproovConfigurationError } from '../core/errors.js';
import {
  addApproovToOperation,
  APPROOV_SECURITY_SCHEME,
  approovSecurityScheme,
  type ApproovOperationSpec,
} from './approov-openapi.js';

type Controller = new (...args: never[]) => object;

/**
 * Adds to a document made by `SwaggerModule.createDocument(app, config)` what ApproovModule
 * protects, read from the app's routes the way the guard reads them: the `Approov-Token` apiKey
 * scheme, and on every protected operation its requirement, the 401 and 503 responses (413 on
 * signed routes) and the bound and signature headers. A route is protected when ApproovGuard (or
 * a subclass) is on it or its controller, or is a global guard (`protectAllRoutes`, or an
 * APP_GUARD provider), and it is not skipped with `@SkipApproov()`. Unprotected operations are
 * left as they are; what the document already holds is never duplicated. Returns the document.
 */
export function addApproovToDocument(
  app: INestApplication,
  document: OpenAPIObject,
): OpenAPIObject {
  const service = approovServiceOf(app);
  const reflector = app.get(Reflector);
  const discovery = app.get(DiscoveryService);
  const global = hasGlobalApproovGuard(app, discovery);
  // Where Nest keeps the prefix and versioning (not public: @nestjs/swagger reads it there too).
  const config = (app as unknown as { config: ApplicationConfig }).config;
  const paths = new RoutePathFactory(config);
  const applicationId = app.get(ModulesContainer).applicationId;
  const scanner = new MetadataScanner();

  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as Controller | null;
    if (typeof controller !== 'function') continue;
    const prototype = controller.prototype as Record<string, unknown>;
    const modulePath = modulePathOf(wrapper.host!.metatype, applicationId);
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function') continue;
      const methodPath: unknown = Reflect.getMetadata(PATH_METADATA, handler);
      const method: RequestMethod | undefined = Reflect.getMetadata(METHOD_METADATA, handler);
      if (methodPath === undefined || method === undefined) continue;
      const route = readApproovRoute(reflector, handler, controller);
      if (route.skipped || !(global || route.guards.some(isApproovGuard))) continue;
      const spec: ApproovOperationSpec = {
        binding:
          route.binding === undefined
            ? []
            : route.binding.length > 0
              ? route.binding
              : service.defaultBindingHeaders,
        signing:
          route.signing === undefined
            ? undefined
            : service.approovCheck.signatures.optionsFor(route.signing),
      };
      const methodPaths = [methodPath as string | string[]].flat();
      const routePaths = methodPaths.flatMap((path) =>
        paths.create(
          {
            ctrlPath: Reflect.getMetadata(PATH_METADATA, controller),
            methodPath: path,
            modulePath,
            globalPrefix: config.getGlobalPrefix(),
            methodVersion: Reflect.getMetadata(VERSION_METADATA, handler),
            controllerVersion: controllerVersionOf(controller, config.getVersioning()),
            versioningOptions: config.getVersioning(),
          },
          method,
        ),
      );
      for (const path of routePaths) {
        for (const operation of operationsOf(document.paths[openApiPath(path)], method)) {
          addApproovToOperation(operation, spec);
        }
      }
    }
  }
  const components = (document.components ??= {});
  const schemes = (components.securitySchemes ??= {});
  schemes[APPROOV_SECURITY_SCHEME] ??= approovSecurityScheme(service.tokenHeader);
  return document;
}

function approovServiceOf(app: INestApplication): ApproovService {
  try {
    return app.get(ApproovService, { strict: false });
  } catch {
    throw new ApproovConfigurationError(
      'addApproovToDocument: this app has no ApproovModule (or it loaded another copy of ' +
        'nestjs-approov than nestjs-approov/swagger did). Import ApproovModule.forRoot() in the app.',
    );
  }
}

/** ApproovGuard is a global guard: `protectAllRoutes`, or an APP_GUARD provider of the app. */
function hasGlobalApproovGuard(app: INestApplication, discovery: DiscoveryService): boolean {
  const extras = app.get<symbol, ApproovModuleExtras>(APPROOV_MODULE_EXTRAS, { strict: false });
  return (
    extras.protectAllRoutes === true ||
    discovery
      .getProviders()
      .some(
        (wrapper) =>
          typeof wrapper.token === 'string' &&
          wrapper.token.startsWith(`${APP_GUARD} `) &&
          isApproovGuard(wrapper.instance ?? wrapper.metatype),
      )
  );
}

/** The path RouterModule gives the controller's module, if any. */
function modulePathOf(module: object, applicationId: string): string | undefined {
  return (
    Reflect.getMetadata(MODULE_PATH + applicationId, module) ??
    Reflect.getMetadata(MODULE_PATH, module)
  );
}

/** As Nest and @nestjs/swagger read it: the controller's version, else the default one (URI versioning). */
function controllerVersionOf(controller: Controller, versioning: VersioningOptions | undefined) {
  return (
    Reflect.getMetadata(VERSION_METADATA, controller) ??
    (versioning as { defaultVersion?: unknown } | undefined)?.defaultVersion
  );
}

/** The document's operations of a route: one method, or every method for `@All()`. */
function operationsOf(item: PathItemObject | undefined, method: RequestMethod): OperationObject[] {
  if (item === undefined) return [];
  const entries = Object.entries(item) as Array<[string, unknown]>;
  return entries
    .filter(
      ([name]) => method === RequestMethod.ALL || name === RequestMethod[method].toLowerCase(),
    )
    .map(([, operation]) => operation)
    .filter(
      (operation): operation is OperationObject =>
        typeof operation === 'object' && operation !== null && 'responses' in operation,
    );
}

/**
 * A Nest route path as OpenAPI writes it, as @nestjs/swagger does: `:id` and `*rest` become
 * `{id}` and `{rest}`, optional groups `{/:id}` lose their braces, `\:` is a plain colon.
 */
/** @internal */
export function openApiPath(path: string): string {
  let out = '';
  for (let index = 0; index < path.length; index++) {
    const char = path[index]!;
    if (char === '\\') {
      out += path[++index] ?? '';
    } else if (char === ':' || char === '*') {
      const name = /^[$_\p{ID_Start}][$\p{ID_Continue}]*/u.exec(path.slice(index + 1))?.[0];
      out += name === undefined ? char : `{${name}}`;
      index += name?.length ?? 0;
    } else if (char !== '{' && char !== '}') {
      out += char;
    }
  }
  return out === '' || out === '/' ? '/' : out.replace(/\/$/, '');
}
