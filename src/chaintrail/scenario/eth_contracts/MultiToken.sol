// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC1155Receiver {
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external returns (bytes4);
    function onERC1155BatchReceived(
        address operator, address from, uint256[] calldata ids, uint256[] calldata values, bytes calldata data
    ) external returns (bytes4);
}

/// A small ERC-1155 (game items): the owner mints, holders move items one id at a time or in batches.
contract MultiToken {
    address public owner;
    mapping(uint256 => mapping(address => uint256)) public balanceOf;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event TransferSingle(
        address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value
    );
    event TransferBatch(
        address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values
    );
    event ApprovalForAll(address indexed account, address indexed operator, bool approved);
    event URI(string value, uint256 indexed id);

    constructor() {
        owner = msg.sender;
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0xd9b67a26 || id == 0x0e89341c; // ERC-165, ERC-1155, metadata URI
    }

    function uri(uint256) external pure returns (string memory) {
        return "ipfs://chaintrail-test/items/{id}.json";
    }

    function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids)
        external view returns (uint256[] memory out)
    {
        require(accounts.length == ids.length, "length mismatch");
        out = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            out[i] = balanceOf[ids[i]][accounts[i]];
        }
    }

    function setApprovalForAll(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata values) external {
        require(msg.sender == owner, "not the owner");
        _move(address(0), to, ids, values);
        emit TransferBatch(msg.sender, address(0), to, ids, values);
        _checkBatch(address(0), to, ids, values, "");
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external {
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "not allowed");
        require(to != address(0), "transfer to zero");
        require(balanceOf[id][from] >= value, "balance too low");
        balanceOf[id][from] -= value;
        balanceOf[id][to] += value;
        emit TransferSingle(msg.sender, from, to, id, value);
        if (to.code.length > 0) {
            bytes4 ok = IERC1155Receiver(to).onERC1155Received(msg.sender, from, id, value, data);
            require(ok == IERC1155Receiver.onERC1155Received.selector, "unsafe recipient");
        }
    }

    function safeBatchTransferFrom(
        address from, address to, uint256[] calldata ids, uint256[] calldata values, bytes calldata data
    ) external {
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "not allowed");
        require(to != address(0), "transfer to zero");
        _move(from, to, ids, values);
        emit TransferBatch(msg.sender, from, to, ids, values);
        _checkBatch(from, to, ids, values, data);
    }

    function _move(address from, address to, uint256[] calldata ids, uint256[] calldata values) internal {
        require(ids.length == values.length, "length mismatch");
        for (uint256 i = 0; i < ids.length; i++) {
            if (from != address(0)) {
                require(balanceOf[ids[i]][from] >= values[i], "balance too low");
                balanceOf[ids[i]][from] -= values[i];
            }
            balanceOf[ids[i]][to] += values[i];
        }
    }

    function _checkBatch(
        address from, address to, uint256[] calldata ids, uint256[] calldata values, bytes memory data
    ) internal {
        if (to.code.length > 0) {
            bytes4 ok = IERC1155Receiver(to).onERC1155BatchReceived(msg.sender, from, ids, values, data);
            require(ok == IERC1155Receiver.onERC1155BatchReceived.selector, "unsafe recipient");
        }
    }
}
