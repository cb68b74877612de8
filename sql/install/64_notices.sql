-------------------------------------------------------------------------------
-- Notices (Art 10): what the guardian is told before consenting.  Versioned;
-- a material new version makes consents given on older versions lapse for
-- the purposes it covers (Art 10, last paragraph: re-consent).
-------------------------------------------------------------------------------

CREATE TABLE childguard.notice (
	notice_id		text NOT NULL CHECK (notice_id <> ''),
	version			integer NOT NULL CHECK (version > 0),
	purposes		text[] NOT NULL,
	material		boolean NOT NULL,
	-- the seven items of Art 10, each required
	purpose_method_scope	text NOT NULL,	-- (一) 目的、方式和范围
	storage_location_period	text NOT NULL,	-- (二) 存储的地点、期限和到期后的处理方式
	security_measures		text NOT NULL,	-- (三) 安全保障措施
	refusal_consequences	text NOT NULL,	-- (四) 拒绝的后果
	complaint_channels		text NOT NULL,	-- (五) 投诉、举报的渠道和方式
	correction_deletion		text NOT NULL,	-- (六) 更正、删除的途径和方法
	other_matters			text NOT NULL,	-- (七) 其他应当告知的事项
	published_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	published_by	name NOT NULL,
	CONSTRAINT notice_pkey PRIMARY KEY (notice_id, version),
	CONSTRAINT notice_items_check CHECK (
		purpose_method_scope <> '' AND storage_location_period <> '' AND
		security_measures <> '' AND refusal_consequences <> '' AND
		complaint_channels <> '' AND correction_deletion <> '' AND other_matters <> '')
);
COMMENT ON TABLE childguard.notice IS
	'Art 10 notices, versioned; each version carries the seven required items and the purposes it covers.';

SELECT pg_catalog.pg_extension_config_dump('childguard.notice', '');

CREATE FUNCTION childguard.publish_notice(notice_id text, purposes text[],
		purpose_method_scope text, storage_location_period text, security_measures text,
		refusal_consequences text, complaint_channels text, correction_deletion text,
		other_matters text, material boolean DEFAULT true)
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v integer;
	missing text[];
	p text;
BEGIN
	PERFORM childguard._require_officer('publish a notice');
	IF notice_id IS NULL OR notice_id = '' THEN
		RAISE EXCEPTION 'notice id must not be empty' USING ERRCODE = '22023';
	END IF;
	SELECT pg_catalog.array_agg(item) INTO missing
	  FROM (VALUES (1, 'purpose_method_scope', purpose_method_scope),
	               (2, 'storage_location_period', storage_location_period),
	               (3, 'security_measures', security_measures),
	               (4, 'refusal_consequences', refusal_consequences),
	               (5, 'complaint_channels', complaint_channels),
	               (6, 'correction_deletion', correction_deletion),
	               (7, 'other_matters', other_matters)) i(n, item, val)
	 WHERE pg_catalog.btrim(coalesce(val, '')) = '';
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'notice "%" is missing required items', notice_id
			USING ERRCODE = 'ZC107',
			      DETAIL = pg_catalog.format('Art 10 requires all seven items; missing: %s.',
			                                 pg_catalog.array_to_string(missing, ', ')),
			      HINT = 'Give every item; write what applies, e.g. "none" for other matters only if there are none.';
	END IF;
	IF purposes IS NULL OR pg_catalog.cardinality(purposes) = 0 THEN
		RAISE EXCEPTION 'notice "%" must cover at least one purpose', notice_id
			USING ERRCODE = '22023';
	END IF;
	FOREACH p IN ARRAY purposes LOOP
		PERFORM childguard._purpose_of(p);
	END LOOP;
	-- one publisher at a time per notice: versions are consecutive
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('childguard.notice:' || notice_id));
	SELECT coalesce(max(n.version), 0) + 1 INTO v
	  FROM childguard.notice n WHERE n.notice_id = publish_notice.notice_id;
	IF v > 1 AND material IS NULL THEN
		RAISE EXCEPTION 'say whether the new version of notice "%" is material', notice_id
			USING ERRCODE = '22004';
	END IF;
	INSERT INTO childguard.notice VALUES (
		publish_notice.notice_id, v,
		ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(purposes) x ORDER BY 1),
		v = 1 OR material,
		purpose_method_scope, storage_location_period, security_measures,
		refusal_consequences, complaint_channels, correction_deletion, other_matters,
		pg_catalog.now(), childguard._caller());
	IF v > 1 AND material THEN
		-- consents given on earlier versions lapse for the purposes this one covers
		UPDATE childguard.consent c
		   SET lapsed_at = pg_catalog.now()
		 WHERE c.notice_id = publish_notice.notice_id
		   AND c.notice_version < v
		   AND c.lapsed_at IS NULL
		   AND c.purpose_id IN (SELECT x.purpose_id FROM childguard.purpose x
		                         WHERE x.purpose = ANY (purposes));
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION childguard.publish_notice(text, text[], text, text, text, text, text, text, text, boolean) IS
	'Art 10: publish a new version of a notice (officer). All seven items are required. A material new version makes consents given on earlier versions lapse for the purposes it covers. Returns the version number.';
