// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A wallet made by the factory: holds ETH for its owner until withdrawn.
contract ChildWallet {
    address public owner;
    address public factory;

    constructor(address owner_) payable {
        owner = owner_;
        factory = msg.sender;
    }

    receive() external payable {}

    function withdraw(uint256 amount) external {
        require(msg.sender == owner, "not the owner");
        payable(owner).transfer(amount);
    }
}

/// Creates child wallets inside a call, with CREATE or CREATE2, passing on the ETH sent.
contract Factory {
    event ChildCreated(address indexed child, address indexed owner, bool salted);

    function create(address owner) external payable returns (address child) {
        child = address(new ChildWallet{value: msg.value}(owner));
        emit ChildCreated(child, owner, false);
    }

    function create2(address owner, bytes32 salt) external payable returns (address child) {
        child = address(new ChildWallet{value: msg.value, salt: salt}(owner));
        emit ChildCreated(child, owner, true);
    }
}
