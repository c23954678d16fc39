declare const ORDERFLOW_VERSION: string | undefined;

/** This build's version (`<package version>+<commit>`, set by scripts/build.mjs); `dev` when running sources. */
export const appVersion: string = typeof ORDERFLOW_VERSION === 'string' ? ORDERFLOW_VERSION : 'dev';
