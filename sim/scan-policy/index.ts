export { createPolicyDriver } from './policy-driver.ts';
