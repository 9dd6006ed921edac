/**
 * Labels may not contain selector operators (`: , & ! *`) or spaces, so every label can be
 * selected. Its own module: selectors need it without loading the inventory schemas.
 */
export const labelPattern = /^[A-Za-z0-9_][A-Za-z0-9_.\-/=]*$/;
