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
/// NOT a zero-knowledge mixer. The zk-SNARK is replaced by a trusted verifier's on-chain approval: off chain,
/// the verifier (a fixed account) checks the note (nullifier, secret) against the deposited commitments, then
/// sends approve(nullifierHash, recipient, relayer, fee). The approval names no deposit and no commitment, only
/// what the real withdrawal's public inputs show anyway, so the deposit -> withdrawal link stays exactly as
/// hidden as on mainnet: no calldata of any transaction carries the nullifier or the secret. withdraw checks
/// that an approval for exactly (nullifierHash, recipient, relayer, fee) exists and that the nullifier is
/// unspent, then consumes both; its `_proof` bytes are opaque (never read). The Merkle tree is replaced by a
/// running hash of the commitments (its last 30 values are the known roots). What tracing sees on the real
/// chain - the events, the fixed denominations, relayers paying gas and taking a fee, the timing - is
/// reproduced; the one footprint that differs is the verifier's approval transaction before each withdrawal
/// (from one account, to the pool, no value, no event).
abstract contract Tornado {
    uint32 public constant ROOT_HISTORY_SIZE = 30;
    uint256 public immutable denomination;
    address public immutable verifier;
    uint32 public nextIndex;
    uint32 public currentRootIndex;
    bytes32[30] public roots;
    mapping(bytes32 => bool) public commitments;
    mapping(bytes32 => bool) public nullifierHashes;
    mapping(bytes32 => bytes32) public approvals;  // nullifierHash -> keccak256(recipient, relayer, fee)
    bool private locked;

    event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);
    event Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee);

    modifier nonReentrant() {
        require(!locked, "ReentrancyGuard: reentrant call");
        locked = true;
        _;
        locked = false;
    }

    constructor(uint256 denomination_, address verifier_) {
        require(denomination_ > 0, "denomination should be greater than 0");
        denomination = denomination_;
        verifier = verifier_;
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

    /// The verifier's stand-in for the proof: this nullifier may be spent once, paying exactly these parties.
    function approve(bytes32 _nullifierHash, address _recipient, address _relayer, uint256 _fee) external {
        require(msg.sender == verifier, "not the verifier");
        require(!nullifierHashes[_nullifierHash], "The note has been already spent");
        require(_fee <= denomination, "Fee exceeds transfer value");
        approvals[_nullifierHash] = keccak256(abi.encode(_recipient, _relayer, _fee));
    }

    function withdraw(bytes calldata _proof, bytes32 _root, bytes32 _nullifierHash, address payable _recipient,
                      address payable _relayer, uint256 _fee, uint256 _refund) external payable nonReentrant {
        _proof;  // opaque: the verifier's approval stands in for the zk proof
        require(_fee <= denomination, "Fee exceeds transfer value");
        require(!nullifierHashes[_nullifierHash], "The note has been already spent");
        require(isKnownRoot(_root), "Cannot find your merkle root");
        bytes32 approval = approvals[_nullifierHash];
        require(approval != 0 && approval == keccak256(abi.encode(_recipient, _relayer, _fee)),
                "Invalid withdraw proof");
        delete approvals[_nullifierHash];
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
    constructor(uint256 denomination_, address verifier_) Tornado(denomination_, verifier_) {}

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

    constructor(uint256 denomination_, address token_, address verifier_) Tornado(denomination_, verifier_) {
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
