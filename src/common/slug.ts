/** Service and environment names: lower-case slugs, as in the contract. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const SLUG_MESSAGE = (field: string) =>
  `${field} must be a slug: 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`;

/** An environment name or `*` (every environment), as keys and freezes list them. */
export const ENVIRONMENT_OR_ALL = new RegExp(`^\\*$|${SLUG_PATTERN.source}`);
