// The `nestjs-approov/swagger` entry: OpenAPI documentation of what ApproovModule protects.
// It needs the optional peer @nestjs/swagger; the package's main entry never loads this file.
export { addApproovToDocument } from './add-approov-to-document.js';
export { ApiApproov, type ApiApproovOptions } from './api-approov.decorator.js';
export { APPROOV_SECURITY_SCHEME, approovSecurityScheme } from './approov-openapi.js';
