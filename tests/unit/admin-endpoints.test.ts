// `liandong endpoints` from Asterisk 22's own output (captured with a registered baresip on
// extension 8091 and a registration trunk to a carrier that does not answer).
import { describe, expect, it } from 'vitest';
import { endpointStatuses, formatEndpoints, parseContacts, parseEndpoints, parseRegistrations } from '../../src/admin/endpoints.js';
import { parseEndpointList } from '../../src/admin/dialplan-reload.js';
import { validateTelephonyConfig } from '../../src/admin/telephony-config.js';

const ENDPOINTS = `
 Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>
    I/OAuth:  <AuthId/UserName...........................................................>
        Aor:  <Aor............................................>  <MaxContact>
      Contact:  <Aor/ContactUri..........................> <Hash....> <Status> <RTT(ms)..>
  Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress..................>
==========================================================================================

 Endpoint:  8091/8091                                            Not in use    0 of inf
     InAuth:  8091/8091
        Aor:  8091                                               1
      Contact:  8091/sip:8091-0x55fb27f2fa70@127.0.0.1:507 b0557b36f6 Avail         0.584
  Transport:  transport-udp             udp      0      0  127.0.0.1:5060

 Endpoint:  carrier                                              Unavailable   0 of inf
    OutAuth:  carrier-auth/county
        Aor:  carrier                                            0
      Contact:  carrier/sip:127.0.0.1:5099                 ec2ac809ed Unavail        -nan
  Transport:  transport-udp             udp      0      0  127.0.0.1:5060


Objects found: 2
`;
const CONTACTS = `
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  8091/sip:8091-0x55fb27f2fa70@127.0.0.1:5073    b0557b36f6 Avail         0.584
  Contact:  carrier/sip:127.0.0.1:5099                     ec2ac809ed Unavail        -nan

Objects found: 2
`;
const REGISTRATIONS = `
 <Registration/ServerURI..............................>  <Auth....................>  <Status.......>
==========================================================================================

 carrier/sip:127.0.0.1:5099                              carrier-auth                Unregistered      (exp. 2s ago)

Objects found: 1
`;

const telephony = (() => {
  const r = validateTelephonyConfig({
    trunk: { id: 'carrier', mode: 'registration', host: '127.0.0.1', port: 5099, username: 'county', password: 'trunk-pass-123' },
    extensions: [
      { number: '8091', departmentId: 'water-supply', label: '自来水厂值班室', password: 'ext-8091-password' },
      { number: '8092', departmentId: 'gas-supply', label: '燃气公司值班室', password: 'ext-8092-password' },
    ],
  });
  if (!r.ok) throw new Error(r.problems.join());
  return r.value;
})();

describe('endpoint status', () => {
  it('reads endpoints, full contact URIs with qualify status and RTT, and registrations', () => {
    expect(parseEndpoints(ENDPOINTS).map((e) => [e.name, e.state, e.channels, e.contacts.length])).toEqual([['8091', 'Not in use', 0, 1], ['carrier', 'Unavailable', 0, 1]]);
    expect(parseContacts(CONTACTS).get('8091')).toEqual([{ uri: 'sip:8091-0x55fb27f2fa70@127.0.0.1:5073', status: 'Avail', rttMs: 0.584 }]);
    expect(parseContacts(CONTACTS).get('carrier')).toEqual([{ uri: 'sip:127.0.0.1:5099', status: 'Unavail', rttMs: null }]);
    expect(parseRegistrations(REGISTRATIONS)).toEqual(new Map([['carrier', 'Unregistered']]));
    expect(parseEndpointList(ENDPOINTS)).toEqual(new Set(['8091', 'carrier']));
    expect(parseEndpointList('No objects found.\n')).toEqual(new Set());
  });

  it('says which extension is registered and reachable, and which configured one Asterisk lacks', () => {
    const contacts = parseContacts(CONTACTS);
    const parsed = parseEndpoints(ENDPOINTS).map((e) => ({ ...e, contacts: contacts.get(e.name) ?? e.contacts }));
    const rows = endpointStatuses(parsed, parseRegistrations(REGISTRATIONS), telephony);
    expect(rows.map((r) => [r.name, r.kind, r.registered, r.reachable, r.registration, r.state])).toEqual([
      ['carrier', 'trunk', false, false, 'Unregistered', 'Unavailable'],
      ['8091', 'extension', true, true, null, 'Not in use'],
      ['8092', 'extension', false, false, null, 'not loaded'],
    ]);
    expect(rows[1]).toMatchObject({ departmentId: 'water-supply', label: '自来水厂值班室', contacts: [{ rttMs: 0.584 }] });
    const table = formatEndpoints(rows);
    expect(table[0]).toMatch(/^NAME\s+KIND\s+DEPARTMENT\s+REGISTERED\s+REACHABLE\s+RTT\s+STATE\s+CALLS\s+CONTACT$/);
    expect(table[2]).toMatch(/^8091\s+extension\s+water-supply\s+yes\s+yes\s+0\.6 ms\s+Not in use\s+0\s+sip:8091-0x55fb27f2fa70@127\.0\.0\.1:5073 Avail$/);
    expect(table[1]).toContain('no (Unregistered)');
  });

  it('lists endpoints Asterisk has but the config does not name as "other"', () => {
    const rows = endpointStatuses(parseEndpoints(ENDPOINTS), new Map(), { trunk: null, extensions: [], feedbackNumbers: [] });
    expect(rows.map((r) => [r.name, r.kind, r.registered])).toEqual([['8091', 'other', null], ['carrier', 'other', null]]);
    expect(formatEndpoints([])).toEqual(['no trunk or extension is configured (config/telephony.json) and Asterisk has no PJSIP endpoints']);
  });
});
