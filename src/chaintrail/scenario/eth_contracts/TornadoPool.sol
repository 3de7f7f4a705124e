// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IPoolToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// A Tornado Cash style fixed-denomination pool (tornado-core's Tornado/ETHTornado/ERC20Tornado), with the
/// same functions, calldata layout and events: deposit(bytes32), withdraw(bytes,bytes32,bytes32,address,
/// address,uint256,uint256) (selector 0x21a0adb6), Deposit and Withdrawal.
///
/// NOT a zero-knowledge mixer. The zk-SNARK is replaced by a commitment-preimage check: `proof` is the
/// 64-byte note (nullifier, secret), commitment = keccak256(nullifier ++ secret) must have been deposited,
/// and nullifierHash = keccak256(nullifier) is spent once. The Merkle tree is replaced by a running hash of
/// the commitments (its last 30 values are the known roots). What tracing sees on the real chain - the
/// events, the fixed denominations, relayers paying gas and taking a fee, the timing - is reproduced exactly.
/// Unlike the real pool, the proof bytes here reveal which deposit a withdrawal spends: analysis must not
/// decode them (on mainnet that link is hidden; on this chain it is answer-key knowledge).
abstract contract Tornado {
    uint32 public constant ROOT_HISTORY_SIZE = 30;
    uint256 public immutable denomination;
    uint32 public nextIndex;
    uint32 public currentRootIndex;
    bytes32[30] public roots;
    mapping(bytes32 => bool) public commitments;
    mapping(bytes32 => bool) public nullifierHashes;
    bool private locked;

    event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);
    event Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee);

    modifier nonReentrant() {
        require(!locked, "ReentrancyGuard: reentrant call");
        locked = true;
        _;
        locked = false;
    }

    constructor(uint256 denomination_) {
        require(denomination_ > 0, "denomination should be greater than 0");
        denomination = denomination_;
    }

    function deposit(bytes32 _commitment) external payable nonReentrant {
        require(!commitments[_commitment], "The commitment has been submitted");
        uint32 inserted = nextIndex;
        nextIndex = inserted + 1;
        uint32 newRootIndex = (currentRootIndex + 1) % ROOT_HISTORY_SIZE;
        roots[newRootIndex] = keccak256(abi.encodePacked(roots[currentRootIndex], _commitment));
        currentRootIndex = newRootIndex;
        commitments[_commitment] = true;
        _processDeposit();
        emit Deposit(_commitment, inserted, block.timestamp);
    }

    function withdraw(bytes calldata _proof, bytes32 _root, bytes32 _nullifierHash, address payable _recipient,
                      address payable _relayer, uint256 _fee, uint256 _refund) external payable nonReentrant {
        require(_fee <= denomination, "Fee exceeds transfer value");
        require(!nullifierHashes[_nullifierHash], "The note has been already spent");
        require(isKnownRoot(_root), "Cannot find your merkle root");
        require(_proof.length == 64, "Invalid withdraw proof");
        bytes32 nullifier = bytes32(_proof[0:32]);
        require(keccak256(abi.encodePacked(nullifier)) == _nullifierHash, "Invalid withdraw proof");
        require(commitments[keccak256(_proof)], "Invalid withdraw proof");
        nullifierHashes[_nullifierHash] = true;
        _processWithdraw(_recipient, _relayer, _fee, _refund);
        emit Withdrawal(_recipient, _nullifierHash, _relayer, _fee);
    }

    function isKnownRoot(bytes32 _root) public view returns (bool) {
        if (_root == 0) return false;
        for (uint32 i = 0; i < ROOT_HISTORY_SIZE; i++) {
            if (roots[i] == _root) return true;
        }
        return false;
    }

    function getLastRoot() external view returns (bytes32) {
        return roots[currentRootIndex];
    }

    function isSpent(bytes32 _nullifierHash) external view returns (bool) {
        return nullifierHashes[_nullifierHash];
    }

    function _processDeposit() internal virtual;

    function _processWithdraw(address payable _recipient, address payable _relayer, uint256 _fee,
                              uint256 _refund) internal virtual;
}

/// ETH pool: deposits of exactly `denomination` wei.
contract ETHTornado is Tornado {
    constructor(uint256 denomination_) Tornado(denomination_) {}

    function _processDeposit() internal override {
        require(msg.value == denomination, "Please send `mixDenomination` ETH along with transaction");
    }

    function _processWithdraw(address payable _recipient, address payable _relayer, uint256 _fee,
                              uint256 _refund) internal override {
        require(msg.value == 0, "Message value is supposed to be zero for ETH instance");
        require(_refund == 0, "Refund value is supposed to be zero for ETH instance");
        (bool success, ) = _recipient.call{value: denomination - _fee}("");
        require(success, "payment to _recipient did not go thru");
        if (_fee > 0) {
            (success, ) = _relayer.call{value: _fee}("");
            require(success, "payment to _relayer did not go thru");
        }
    }
}

/// Token pool (a stablecoin): deposits of exactly `denomination` token units; the relayer may forward ETH
/// (`refund`) to the recipient for gas, as on the real token pools.
contract ERC20Tornado is Tornado {
    address public immutable token;

    constructor(uint256 denomination_, address token_) Tornado(denomination_) {
        token = token_;
    }

    function _processDeposit() internal override {
        require(msg.value == 0, "ETH value is supposed to be 0 for ERC20 instance");
        require(IPoolToken(token).transferFrom(msg.sender, address(this), denomination), "transferFrom failed");
    }

    function _processWithdraw(address payable _recipient, address payable _relayer, uint256 _fee,
                              uint256 _refund) internal override {
        require(msg.value == _refund, "Incorrect refund amount received by the contract");
        require(IPoolToken(token).transfer(_recipient, denomination - _fee), "transfer failed");
        if (_fee > 0) {
            require(IPoolToken(token).transfer(_relayer, _fee), "transfer failed");
        }
        if (_refund > 0) {
            (bool success, ) = _recipient.call{value: _refund}("");
            if (!success) {
                _relayer.transfer(_refund);  // the recipient refused the refund: it goes back to the relayer
            }
        }
    }
}
