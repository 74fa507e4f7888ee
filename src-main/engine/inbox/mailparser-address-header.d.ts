/**
 * `mailparser/address-header`: the module of mailparser's public
 * `parseAddressHeader`, which the parser worker imports without the rest of
 * the package (see parser-worker.ts). mailparser's exports map does not list
 * the file, so scripts/build.mjs resolves the name for the worker's bundle,
 * and this declaration gives it the package's own type.
 */
declare module 'mailparser/address-header' {
  export { parseAddressHeader } from 'mailparser';
}
