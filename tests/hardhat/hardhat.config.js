// Hardhat's in-process network, served by `npx hardhat node`, stands in as an
// L1 that Tributary did not write (tests/web3/test_external_l1.py, opt-in with
// TRIBUTARY_EXTERNAL_L1=1).
//
// - chainId 31337 and the default "test test ... junk" accounts: dev account 0
//   deploys the portal, dev account 8 posts batches.
// - hardfork "prague": the fork our own L1 runs, so the portal bytecode and the
//   batcher's transactions are checked against the same rules. Hardhat 2.29
//   also knows "osaka"; we stay on the fork we target.
// - interval mining: the L1 head must advance with no transactions, because the
//   sequencer's L1 origin and the batcher's channel timeouts both follow it.
//   `auto: true` additionally seals a block per transaction, as anvil does.
//   HARDHAT_AUTOMINE=false turns that off (interval mining only), for comparing
//   `tributary bench txload` figures with hardhat's under the same 1 s blocks.

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "prague",
      mining: {
        auto: process.env.HARDHAT_AUTOMINE !== "false",
        interval: 1000,
      },
    },
  },
};
