// @abandonware/noble ships no types for this entry point; it builds a Noble over the platform bindings.
declare module '@abandonware/noble/with-custom-binding.js' {
  const withBindings: (options: { deviceId?: number; extended?: boolean }) => unknown;
  export default withBindings;
}
