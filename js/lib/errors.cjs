'use strict';
/**
 * Every error selo raises for a protocol, key or crypto failure.
 * `code` is the core's stable dotted code (see `allCodes()`; the package's
 * own HTTP helpers add the few of `hostCodes()`), `httpStatus`
 * the status a server role answers with, where the protocol defines one.
 */
class SeloError extends Error {
  constructor(code, message, httpStatus) {
    super(message);
    this.name = 'SeloError';
    this.code = code;
    if (httpStatus !== undefined && httpStatus !== null) this.httpStatus = httpStatus;
  }
}

/** Called by the wasm module to build errors. */
function makeSeloError(code, message, httpStatus) {
  const e = new SeloError(code, message, httpStatus);
  if (Error.captureStackTrace) Error.captureStackTrace(e, makeSeloError);
  return e;
}

module.exports = { SeloError, makeSeloError };
