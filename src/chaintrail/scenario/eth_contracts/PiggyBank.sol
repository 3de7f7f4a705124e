// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Collects ETH until its owner smashes it: selfdestruct sends the whole balance to the beneficiary.
/// Since Cancun (EIP-6780) the code stays unless the contract was created in the same transaction;
/// the balance moves either way, as a trace of type "suicide".
contract PiggyBank {
    address public owner;

    event Smashed(address indexed beneficiary, uint256 amount);

    constructor() payable {
        owner = msg.sender;
    }

    receive() external payable {}

    function smash(address payable beneficiary) external {
        require(msg.sender == owner, "not the owner");
        emit Smashed(beneficiary, address(this).balance);
        selfdestruct(beneficiary);
    }
}
