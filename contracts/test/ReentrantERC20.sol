// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC777-style token that calls back into a target (the Vault) during every transfer,
/// to prove the Vault's reentrancy guard holds.
contract ReentrantERC20 is ERC20 {
    address public hookTarget;
    bytes public callbackData;
    bool public callbackSucceeded;
    bytes public callbackReturn;

    constructor() ERC20("Hook Token", "HOOK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Arms the hook: every later transfer calls `target` with `data`.
    function arm(address target_, bytes calldata data) external {
        hookTarget = target_;
        callbackData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hookTarget != address(0) && from != address(0) && to != address(0)) {
            address t = hookTarget;
            hookTarget = address(0); // one shot, so the hook cannot loop
            // solhint-disable-next-line avoid-low-level-calls
            (callbackSucceeded, callbackReturn) = t.call(callbackData);
        }
    }
}
