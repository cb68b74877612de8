# childguard.max_children_per_session: reading children one small statement
# at a time (a cursor fetched row by row, or many point queries) cannot
# get round the bulk-copy guard.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);

my ($node) = new_node('session_limit', start => 1,
	extra_conf => 'childguard.max_children_per_session = 3');
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('k' || i, '2016-01-01') FROM generate_series(1, 5) i;
	CREATE TABLE kids (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('kids', 'id', '{"name": "name"}');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO kids SELECT 'k' || i, 'name ' || i FROM generate_series(1, 5) i;
});

my ($ret, $out, $err) = $node->psql('postgres', q{
	SET childguard.purpose = 'regress';
	BEGIN;
	DECLARE c CURSOR FOR SELECT id, name FROM kids ORDER BY id;
	FETCH 1 FROM c; FETCH 1 FROM c; FETCH 1 FROM c; FETCH 1 FROM c;
	COMMIT;}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($out, qr/k3\|name 3/, 'the first three children are read, one FETCH each');
unlike($out, qr/name 4/, 'the fourth child is not');
like($err, qr/ZC110.*session would read the data of more than 3 children/s,
	'the fourth FETCH fails with ZC110');

($ret, $out, $err) = $node->psql('postgres', q{
	SET childguard.purpose = 'regress';
	SELECT name FROM kids WHERE id = 'k1';
	SELECT name FROM kids WHERE id = 'k1';
	SELECT name FROM kids WHERE id = 'k2';
	SELECT name FROM kids WHERE id = 'k3';
	SELECT name FROM kids WHERE id = 'k4';});
is($out, "name 1\nname 1\nname 2\nname 3", 'point queries: the same child twice counts once');
like($err, qr/more than 3 children/, 'the fourth distinct child is refused');

is($node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	SELECT count(*) FROM kids}), 5, 'counting rows decrypts nothing and is not limited');
is($node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	SELECT name FROM kids WHERE id = 'k5'}), 'name 5', 'a new session starts afresh');

$node->stop;
done_testing();
