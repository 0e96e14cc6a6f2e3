// asterisk-manager ships no types; the AMI adapter (src/telephony/ami.ts) narrows it further.
declare module 'asterisk-manager' {
  const AsteriskManager: new (port: number, host: string, username: string, password: string, events: boolean) => unknown;
  export default AsteriskManager;
}
