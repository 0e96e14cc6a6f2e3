// The only way a phone number becomes a dial string. A number that is not digits with an
// optional leading + never gets here: '&', '@', '/', ',' and line breaks are how dial strings
// (and AMI) are injected.
import { isDialableNumber } from '../config.js';
import { TelephonyError } from './port.js';

export function buildDialString(template: string, number: string): string {
  if (!isDialableNumber(number)) {
    throw new TelephonyError('invalid_number', 'phone number must be 3 to 20 digits with an optional leading +');
  }
  return template.replace('{number}', number);
}
