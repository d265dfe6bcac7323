/** Errors shown to the user: the message names the file and the field that is wrong. */
export class BundleError extends Error {
  constructor(message: string, readonly kind: 'damaged' | 'foreign' | 'unsupported' = 'damaged') {
    super(message);
    this.name = 'BundleError';
  }
}
